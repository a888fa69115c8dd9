from django.db import migrations

# 0002 removed db_index from LedgerEntry.order_id. On PostgreSQL, Django drops every index on the
# column when it does that, including the partial unique index behind the
# "ledger_one_topup_per_order" constraint, while the migration state still lists the constraint.
# Put the index back wherever it went missing; it is the database's guarantee that one paid
# order tops a card up exactly once.


class Migration(migrations.Migration):
    dependencies = [("usage", "0002_lean_usage_indexes")]

    operations = [
        migrations.RunSQL(
            sql=(
                "CREATE UNIQUE INDEX IF NOT EXISTS ledger_one_topup_per_order "
                "ON usage_ledgerentry (order_id) WHERE kind = 'topup'"
            ),
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
