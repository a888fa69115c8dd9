"""PostgreSQL refuses to change or delete rows of billing_walletentry (see portal.lib.append_only)."""

from django.db import migrations

from portal.lib.append_only import append_only


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0001_initial"),
    ]

    operations = [
        append_only("billing_walletentry"),
    ]
