import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import transaction

from usage.ledger import card_topup, ledgers_check
from usage.models import Card, UsageRecord

from .ledger_factories import CardFactory

GB = 1_000_000_000
MB = 1_000_000
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=2)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def card():
    card = CardFactory()
    with transaction.atomic():
        card_topup(
            card=Card.objects.select_for_update().get(pk=card.pk),
            allowance_bytes=GB,
            duration=timedelta(days=7),
            start=T0,
            order_id=1,
            now=T0,
        )
    return card


def run(*args):
    call_command("import_usage", *args, "--no-progress")


def test_a_csv_file_is_imported_and_summarised(tmp_path, card, capsys):
    path = tmp_path / "usage.csv"
    path.write_text(
        "\ufeffrecord_id,iccid,start,end,bytes,cell\n"
        + "".join(
            f"r{i},{card.iccid},2026-11-02T{i:02d}:00:00Z,2026-11-02T{i:02d}:30:00Z,{MB},MC-01\n"
            for i in range(10)
        )
    )
    run(str(path), "--chunk-size", "3")
    assert "Read 10 records: 10 applied, 0 already applied (duplicates), 0 failed." in capsys.readouterr().out
    card.refresh_from_db()
    assert card.data_remaining == GB - 10 * MB
    assert ledgers_check() == []


def test_importing_the_same_file_again_applies_nothing(tmp_path, card, capsys):
    path = tmp_path / "usage.jsonl"
    lines = [
        json.dumps(
            {
                "record_id": f"j{i}",
                "iccid": card.iccid,
                "start": "2026-11-02T10:00:00Z",
                "end": "2026-11-02T10:10:00Z",
                "bytes": MB,
            }
        )
        for i in range(5)
    ]
    path.write_text("\n".join(lines) + "\n\n")
    run(str(path))
    run(str(path))
    out = capsys.readouterr().out
    assert "Read 5 records: 0 applied, 5 already applied (duplicates), 0 failed." in out
    assert UsageRecord.objects.count() == 5


def test_bad_lines_are_listed_with_their_line_number_and_the_exit_status_is_1(tmp_path, card, capsys):
    path = tmp_path / "usage.jsonl"
    good = {
        "record_id": "ok",
        "iccid": card.iccid,
        "start": "2026-11-02T10:00:00Z",
        "end": "2026-11-02T10:10:00Z",
        "bytes": MB,
    }
    path.write_text(
        json.dumps(good)
        + "\n"
        + "{broken\n"
        + json.dumps({**good, "record_id": "stray", "iccid": "8937700000000009999"})
        + "\n"
    )
    with pytest.raises(SystemExit) as exit_info:
        run(str(path))
    assert exit_info.value.code == 1
    out = capsys.readouterr().out
    assert "1 applied" in out
    assert "line 2: (no id): Each record must be an object." in out
    assert "line 3: stray: No card has ICCID 8937700000000009999." in out
    assert "unknown_iccid: 1" in out


def test_a_csv_without_the_needed_columns_is_refused(tmp_path, card):
    path = tmp_path / "usage.csv"
    path.write_text("id,bytes\n1,2\n")
    with pytest.raises(CommandError, match="record_id, iccid, start, end"):
        run(str(path))


def test_an_unknown_extension_needs_a_format(tmp_path, card):
    path = tmp_path / "usage.txt"
    path.write_text("")
    with pytest.raises(CommandError, match="--format"):
        run(str(path))


def test_simulated_usage_feeds_active_cards_through_the_ledger_and_is_repeatable(card, capsys):
    card.owner.save()
    call_command("simulate_usage")
    card.refresh_from_db()
    used = GB - card.data_remaining
    records = UsageRecord.objects.filter(card=card).count()
    assert 20 < records <= 48
    assert 0 < used < GB
    call_command("simulate_usage")
    assert "0 new" in capsys.readouterr().out.splitlines()[-1]
    assert UsageRecord.objects.filter(card=card).count() == records
    assert ledgers_check() == []


def test_simulated_usage_leaves_expired_and_ownerless_cards_alone(card):
    CardFactory(owner=None)
    Card.objects.update(owner=None)
    call_command("simulate_usage")
    assert UsageRecord.objects.count() == 0
