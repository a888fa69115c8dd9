"""PostgreSQL refuses to change or delete rows of usage_ledgerentry (see portal.lib.append_only)."""

from django.db import migrations

from portal.lib.append_only import append_only


class Migration(migrations.Migration):
    dependencies = [
        ("usage", "0004_usage_entry_per_card_and_batch"),
    ]

    operations = [
        append_only("usage_ledgerentry"),
    ]
