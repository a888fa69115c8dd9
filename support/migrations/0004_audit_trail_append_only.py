"""PostgreSQL refuses to change or delete rows of support_auditentry (see portal.lib.append_only)."""

from django.db import migrations

from portal.lib.append_only import append_only


class Migration(migrations.Migration):
    dependencies = [
        ("support", "0003_export_job_attempts"),
    ]

    operations = [
        append_only("support_auditentry", "actor_id"),
    ]
