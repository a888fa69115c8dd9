"""A `usage` ledger entry per card and delivered batch: the records point at the entry that applied them.

Until now each usage record had an entry of its own (LedgerEntry.usage_record). Those entries stay
as they are; each of their records now points at its entry instead.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def records_point_at_their_entries(apps, schema_editor):
    LedgerEntry = apps.get_model("usage", "LedgerEntry")
    UsageRecord = apps.get_model("usage", "UsageRecord")
    entry = LedgerEntry.objects.filter(usage_record=OuterRef("pk")).values("pk")[:1]
    UsageRecord.objects.filter(ledger_entry__isnull=True).update(ledger_entry=Subquery(entry))


def entries_point_at_their_records(apps, schema_editor):
    # Going back: only entries with exactly one record can name it.
    LedgerEntry = apps.get_model("usage", "LedgerEntry")
    UsageRecord = apps.get_model("usage", "UsageRecord")
    for entry_id, record_id in UsageRecord.objects.values_list("ledger_entry_id", "pk").iterator():
        LedgerEntry.objects.filter(pk=entry_id, usage_record__isnull=True).update(usage_record=record_id)


class Migration(migrations.Migration):
    dependencies = [
        ("usage", "0003_restore_one_topup_per_order"),
    ]

    operations = [
        migrations.AddField(
            model_name="usagerecord",
            name="ledger_entry",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="usage_records",
                to="usage.ledgerentry",
                verbose_name="ledger entry",
            ),
        ),
        migrations.RunPython(records_point_at_their_entries, entries_point_at_their_records),
        migrations.RemoveField(
            model_name="ledgerentry",
            name="usage_record",
        ),
        migrations.AlterField(
            model_name="usagerecord",
            name="ledger_entry",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="usage_records",
                to="usage.ledgerentry",
                verbose_name="ledger entry",
            ),
        ),
    ]
