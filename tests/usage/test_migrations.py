"""Migration 0004 keeps the usage history: each record of the old schema points at its own entry."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("usage", "0003_restore_one_topup_per_order")]
AFTER = [("usage", "0004_usage_entry_per_card_and_batch")]
T = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_records_of_the_old_schema_point_at_the_entry_that_named_them():
    old = _migrate(BEFORE)
    try:
        Card = old.get_model("usage", "Card")
        LedgerEntry = old.get_model("usage", "LedgerEntry")
        UsageRecord = old.get_model("usage", "UsageRecord")
        card = Card.objects.create(iccid="8937700000000000001", kind="esim", data_remaining=700)
        entries = {}
        for number, used in enumerate([100, 200], start=1):
            record = UsageRecord.objects.create(
                record_id=f"old-{number}", card=card, start=T, end=T, bytes=used, received_at=T
            )
            entries[record.record_id] = LedgerEntry.objects.create(
                card=card, kind="usage", data_delta=-used, data_after=0, usage_record=record, created_at=T
            ).pk

        new = _migrate(AFTER)

        linked = dict(
            new.get_model("usage", "UsageRecord").objects.values_list("record_id", "ledger_entry_id")
        )
        assert linked == entries
    finally:
        _migrate(_migrate_leaf())


def _migrate_leaf():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()
