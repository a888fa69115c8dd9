import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import transaction
from django.urls import reverse

from usage.feeds import usage_records_apply, usage_signature
from usage.ledger import card_topup, ledgers_check
from usage.models import Card, UsageRecord

from .ledger_factories import CardFactory

GB = 1_000_000_000
MB = 1_000_000
WEEK = timedelta(days=7)
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=2)
SECRET = "test-usage-secret"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _usage_secret(settings):
    settings.CARRIER_USAGE_SECRET = SECRET
    settings.CARRIER_USAGE_MAX_BODY_BYTES = 20_000


def topped_up_card() -> Card:
    """A card with a 1 GB week plan bought at T0."""
    card = CardFactory()
    with transaction.atomic():
        card_topup(
            card=Card.objects.select_for_update().get(pk=card.pk),
            allowance_bytes=1 * GB,
            duration=WEEK,
            start=T0,
            order_id=card.pk,
            now=T0,
        )
    card.refresh_from_db()
    return card


@pytest.fixture
def card():
    return topped_up_card()


def rec(card, record_id, nbytes, *, start=None, minutes=10):
    start = start or NOW - timedelta(hours=1)
    return {
        "record_id": record_id,
        "iccid": card.iccid if hasattr(card, "iccid") else card,
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=minutes)).isoformat(),
        "bytes": nbytes,
    }


def apply(*records, now=NOW):
    return usage_records_apply(records=list(records), now=now)


def post(client, body, *, timestamp=None, secret=SECRET, signature=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    timestamp = str(int(NOW.timestamp())) if timestamp is None else timestamp
    signature = signature or usage_signature(body=raw, timestamp=timestamp, secret=secret)
    return client.post(
        reverse("usage:carrier_usage"),
        data=raw,
        content_type="application/json",
        headers={"X-Carrier-Timestamp": timestamp, "X-Carrier-Signature": signature},
    )


# --- The service ----------------------------------------------------------------------------


def test_usage_lowers_the_data_remaining_with_one_ledger_entry_per_card_and_batch(card):
    other = topped_up_card()
    result = apply(rec(card, "r1", 100 * MB), rec(other, "o1", 30 * MB), rec(card, "r2", 50 * MB))
    apply(rec(card, "r3", 25 * MB))
    card.refresh_from_db()
    assert result.applied == 3
    assert card.data_remaining == 825 * MB
    assert card.usage_updated_at == NOW
    entries = list(card.ledger_entries.filter(kind="usage").order_by("id"))
    assert [(e.data_delta, e.data_after, e.expires_before, e.expires_after) for e in entries] == [
        (-150 * MB, 850 * MB, card.expires_at, card.expires_at),
        (-25 * MB, 825 * MB, card.expires_at, card.expires_at),
    ]
    # Each record names the entry that applied it: the ledger says what caused every change.
    assert sorted(entries[0].usage_records.values_list("record_id", flat=True)) == ["r1", "r2"]
    assert list(entries[1].usage_records.values_list("record_id", flat=True)) == ["r3"]
    other_entry = other.ledger_entries.get(kind="usage")
    assert (other_entry.data_delta, list(other_entry.usage_records.values_list("record_id", flat=True))) == (
        -30 * MB,
        ["o1"],
    )
    assert ledgers_check() == []


def test_a_record_is_applied_once_however_often_it_is_delivered(card):
    apply(rec(card, "r1", 100 * MB))
    again = apply(rec(card, "r1", 100 * MB), rec(card, "r1", 100 * MB))
    card.refresh_from_db()
    assert again.applied == 0
    assert again.duplicates == ["r1", "r1"]
    assert card.data_remaining == 900 * MB
    assert UsageRecord.objects.count() == 1
    assert card.ledger_entries.filter(kind="usage").count() == 1


def test_reordered_deliveries_end_at_the_same_balance(card):
    topped_up_card()  # a bystander: check_ledgers must find it untouched
    records = [rec(card, f"r{i}", (i + 1) * 10 * MB, start=T0 + timedelta(hours=i)) for i in range(6)]
    apply(*records[3:], records[0])
    apply(records[2], records[1], records[4])
    card.refresh_from_db()
    assert card.data_remaining == GB - sum(r["bytes"] for r in records)
    assert UsageRecord.objects.filter(card=card).count() == 6
    assert ledgers_check() == []


def test_usage_never_takes_data_below_zero_and_the_rest_is_overage(card):
    result = apply(rec(card, "r1", 700 * MB), rec(card, "r2", 500 * MB, start=NOW - timedelta(minutes=30)))
    card.refresh_from_db()
    assert result.applied == 2
    assert card.data_remaining == 0
    assert card.overage_bytes == 200 * MB
    second = UsageRecord.objects.get(record_id="r2")
    assert second.overage_bytes == 200 * MB
    assert second.ledger_entry.data_delta == -MB * 1000  # the batch drew all that was left
    assert second.ledger_entry == UsageRecord.objects.get(record_id="r1").ledger_entry
    assert UsageRecord.objects.get(record_id="r1").overage_bytes == 0
    apply(rec(card, "r3", 5 * MB, start=NOW - timedelta(minutes=5)))
    card.refresh_from_db()
    assert (card.data_remaining, card.overage_bytes) == (0, 205 * MB)
    assert ledgers_check() == []


def test_records_within_a_batch_draw_in_the_order_they_were_used(card):
    late = rec(card, "later", 900 * MB, start=NOW - timedelta(minutes=20))
    early = rec(card, "earlier", 300 * MB, start=NOW - timedelta(hours=3))
    apply(late, early)
    assert UsageRecord.objects.get(record_id="earlier").overage_bytes == 0
    assert UsageRecord.objects.get(record_id="later").overage_bytes == 200 * MB


def test_usage_that_started_after_expiry_draws_nothing_and_is_overage(card):
    after_expiry = card.expires_at + timedelta(hours=1)
    apply(rec(card, "r1", 10 * MB, start=after_expiry), now=after_expiry + timedelta(hours=1))
    card.refresh_from_db()
    assert card.data_remaining == GB  # forfeited by the sweep, not by usage
    assert card.overage_bytes == 10 * MB


def test_a_late_record_of_an_earlier_period_does_not_eat_into_the_new_period(card):
    renewed_at = card.expires_at + timedelta(days=1)
    with transaction.atomic():
        card_topup(
            card=Card.objects.select_for_update().get(pk=card.pk),
            allowance_bytes=GB,
            duration=WEEK,
            start=renewed_at,
            order_id=2,
            now=renewed_at,
        )
    old_usage = rec(card, "old", 100 * MB, start=card.expires_at - timedelta(hours=3))
    apply(old_usage, now=renewed_at + timedelta(hours=2))
    card.refresh_from_db()
    assert card.data_remaining == GB
    assert card.overage_bytes == 0
    assert UsageRecord.objects.filter(record_id="old", card=card).exists()
    assert ledgers_check() == []


def test_a_record_for_an_unknown_iccid_is_reported_not_applied(card):
    result = apply(rec(card, "good", MB), rec("8937700000000009999", "stray", MB))
    assert result.applied == 1
    assert [(f.record_id, f.error, f.index) for f in result.failures] == [("stray", "unknown_iccid", 1)]
    assert not UsageRecord.objects.filter(record_id="stray").exists()


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"record_id": ""}, "invalid_record_id"),
        ({"record_id": "x" * 101}, "invalid_record_id"),
        ({"bytes": -1}, "invalid_bytes"),
        ({"bytes": 1.5}, "invalid_bytes"),
        ({"bytes": True}, "invalid_bytes"),
        ({"start": "yesterday"}, "invalid_start"),
        ({"start": "2026-11-03T10:00:00"}, "invalid_start"),
        ({"end": "2026-10-01T10:00:00Z"}, "end_before_start"),
        ({"end": "2027-01-01T00:00:00Z", "start": "2026-12-31T00:00:00Z"}, "in_future"),
        ({"iccid": 8937700000000000000}, "invalid_iccid"),
    ],
)
def test_a_bad_record_is_reported_with_the_reason_and_the_good_ones_applied(card, change, error):
    bad = {**rec(card, "bad", MB), **change}
    result = apply(rec(card, "good", MB), bad)
    assert result.applied == 1
    assert [f.error for f in result.failures] == [error]
    card.refresh_from_db()
    assert card.data_remaining == GB - MB


def test_records_may_carry_any_utc_offset(card):
    record = rec(card, "r1", MB)
    record["start"] = "2026-11-03T11:00:00+01:00"
    record["end"] = "2026-11-03T10:30:00Z"
    apply(record)
    stored = UsageRecord.objects.get(record_id="r1")
    assert stored.start == datetime(2026, 11, 3, 10, 0, tzinfo=UTC)


def test_stored_times_are_the_records_instants_to_the_microsecond(card):
    record = rec(card, "r1", MB)
    record["start"] = "2026-11-03T11:00:00.123457+01:00"
    record["end"] = "1970-01-01T00:00:00.000001Z"  # before start: refused, the others still stored
    late = rec(card, "r2", MB, start=datetime(2026, 11, 3, 5, 59, 59, 999999, tzinfo=UTC))
    late["start"] = "2026-11-03T08:59:59.999999+03:00"
    early = rec(card, "r3", MB)
    early["start"], early["end"] = "2026-11-03T09:00:00.000001-00:30", "2026-11-03T09:31:00.5+00:00"
    result = apply(record, late, early)
    assert [failure.record_id for failure in result.failures] == ["r1"]
    stored = {row.record_id: row for row in UsageRecord.objects.all()}
    assert stored["r2"].start == datetime(2026, 11, 3, 5, 59, 59, 999999, tzinfo=UTC)
    assert stored["r3"].start == datetime(2026, 11, 3, 9, 30, 0, 1, tzinfo=UTC)
    assert stored["r3"].end == datetime(2026, 11, 3, 9, 31, 0, 500000, tzinfo=UTC)


def test_a_big_batch_is_applied_in_chunks(card, monkeypatch):
    from usage import feeds

    monkeypatch.setattr(feeds, "CHUNK_SIZE", 7)
    records = [rec(card, f"r{i}", MB, start=T0 + timedelta(minutes=i)) for i in range(30)]
    result = apply(*records)
    card.refresh_from_db()
    assert result.applied == 30
    assert card.data_remaining == GB - 30 * MB
    assert ledgers_check() == []


# --- The endpoint ---------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_a_signed_batch_is_applied_and_answered_record_by_record(client, card):
    response = post(client, {"records": [rec(card, "r1", MB), rec("8937700000000009999", "r2", MB)]})
    assert response.status_code == 200
    assert response.json() == {
        "received": 2,
        "applied": 1,
        "duplicates": [],
        "failed": [
            {
                "index": 1,
                "record_id": "r2",
                "error": "unknown_iccid",
                "message": "No card has ICCID 8937700000000009999.",
            }
        ],
    }
    again = post(client, {"records": [rec(card, "r1", MB)]})
    assert again.json()["duplicates"] == ["r1"]
    card.refresh_from_db()
    assert card.data_remaining == GB - MB


@time_machine.travel(NOW, tick=False)
def test_a_bare_list_is_accepted_too(client, card):
    response = post(client, [rec(card, "r1", MB)])
    assert response.json()["applied"] == 1


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(
    "tamper",
    [
        "wrong_secret",
        "wrong_body",
        "missing_signature",
        "stale_timestamp",
        "future_timestamp",
        "bad_timestamp",
    ],
)
def test_a_bad_signature_rejects_the_whole_batch_and_stores_nothing(client, card, tamper):
    body = json.dumps({"records": [rec(card, "r1", MB)]}).encode()
    timestamp = str(int(NOW.timestamp()))
    kwargs = {}
    if tamper == "wrong_secret":
        kwargs["secret"] = "guess"
    elif tamper == "wrong_body":
        kwargs["signature"] = usage_signature(body=body + b" ", timestamp=timestamp, secret=SECRET)
    elif tamper == "missing_signature":
        kwargs["signature"] = " "
    elif tamper == "stale_timestamp":
        kwargs["timestamp"] = str(int(NOW.timestamp()) - 301)
    elif tamper == "future_timestamp":
        kwargs["timestamp"] = str(int(NOW.timestamp()) + 301)
    else:
        kwargs["timestamp"] = "soon"
    response = post(client, body, **kwargs)
    assert response.status_code == 401
    assert response.json()["error"] == "bad_signature"
    assert UsageRecord.objects.count() == 0
    card.refresh_from_db()
    assert card.data_remaining == GB


@time_machine.travel(NOW, tick=False)
def test_a_timestamp_within_five_minutes_is_accepted(client, card):
    response = post(client, [rec(card, "r1", MB)], timestamp=str(int(NOW.timestamp()) - 299))
    assert response.status_code == 200


@time_machine.travel(NOW, tick=False)
def test_a_body_over_the_limit_is_refused_with_413_before_anything_is_read(client, card):
    records = [rec(card, f"r{i}", MB) for i in range(200)]
    response = post(client, {"records": records})
    assert response.status_code == 413
    assert UsageRecord.objects.count() == 0


@time_machine.travel(NOW, tick=False)
def test_malformed_json_is_a_400(client, card):
    assert post(client, b"{not json").status_code == 400
    assert post(client, {"records": "nope"}).status_code == 400


def test_the_endpoint_answers_503_when_no_secret_is_configured(client, settings):
    settings.CARRIER_USAGE_SECRET = ""
    response = post(client, [])
    assert response.status_code == 503


def test_the_endpoint_only_takes_post(client):
    assert client.get(reverse("usage:carrier_usage")).status_code == 405
