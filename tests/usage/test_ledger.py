from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError

from usage.ledger import (
    LedgerError,
    TopupAlreadyApplied,
    UsageLinkProblems,
    card_adjust,
    card_resume,
    card_reverse_topup,
    card_suspend,
    card_topup,
    ledger_append,
    ledgers_check,
    usage_links_check,
)
from usage.models import Card, LedgerEntry, ProvisioningEvent, UsageRecord

from .ledger_factories import CardFactory

GB = 1_000_000_000
DAY = timedelta(days=1)
WEEK = timedelta(days=7)
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def locked(card):
    return Card.objects.select_for_update().get(pk=card.pk)


def topup(card, *, allowance=5 * GB, duration=WEEK, start=None, order_id=1, now=None):
    now = now or start or T0
    with transaction.atomic():
        return card_topup(
            card=locked(card),
            allowance_bytes=allowance,
            duration=duration,
            start=start or now,
            order_id=order_id,
            now=now,
        )


def kinds(card):
    return list(card.ledger_entries.order_by("id").values_list("kind", flat=True))


def test_a_first_topup_opens_a_period_from_the_payment_time():
    card = CardFactory()
    topup(card, start=T0, now=T0 + timedelta(minutes=3))
    card.refresh_from_db()
    assert card.expires_at == T0 + WEEK
    assert card.data_remaining == 5 * GB
    assert card.period_started_at == T0
    assert card.period_allowance == 5 * GB
    entry = card.ledger_entries.get()
    assert (entry.kind, entry.data_delta, entry.data_after) == ("topup", 5 * GB, 5 * GB)
    assert (entry.expires_before, entry.expires_after, entry.order_id) == (None, T0 + WEEK, 1)


def test_renewing_before_expiry_extends_from_current_expiry_and_carries_data_over():
    card = CardFactory()
    topup(card, order_id=1, start=T0)
    Card.objects.filter(pk=card.pk).update(data_remaining=2 * GB)  # as if usage had happened
    LedgerEntry.objects.create(
        card=card, kind="usage", data_delta=-3 * GB, data_after=2 * GB, expires_after=T0 + WEEK
    )
    topup(card, order_id=2, allowance=1 * GB, duration=DAY, start=T0 + 5 * DAY)
    card.refresh_from_db()
    assert card.expires_at == T0 + WEEK + DAY
    assert card.data_remaining == 3 * GB
    assert card.period_started_at == T0
    assert card.period_allowance == 6 * GB


def test_renewing_after_expiry_starts_from_payment_and_forfeits_what_the_sweep_missed():
    card = CardFactory()
    topup(card, order_id=1, start=T0)
    paid_at = T0 + WEEK + 2 * DAY
    topup(card, order_id=2, allowance=1 * GB, duration=DAY, start=paid_at)
    card.refresh_from_db()
    assert kinds(card) == ["topup", "expiry_forfeit", "topup"]
    forfeit = card.ledger_entries.get(kind="expiry_forfeit")
    assert forfeit.data_delta == -5 * GB
    assert forfeit.expires_before == T0 + WEEK
    assert card.expires_at == paid_at + DAY
    assert card.data_remaining == 1 * GB
    assert card.period_started_at == paid_at
    assert card.period_allowance == 1 * GB


def test_renewing_after_a_swept_expiry_does_not_forfeit_twice():
    card = CardFactory()
    topup(card, order_id=1, start=T0)
    with transaction.atomic():
        c = locked(card)
        ledger_append(
            card=c,
            kind="expiry_forfeit",
            data_delta=-c.data_remaining,
            expires_after=c.expires_at,
            now=T0 + WEEK,
        )
    topup(card, order_id=2, start=T0 + WEEK + DAY)
    assert kinds(card) == ["topup", "expiry_forfeit", "topup"]


def test_renewing_after_expiry_resets_the_overage_of_the_old_period():
    card = CardFactory()
    topup(card, order_id=1, start=T0)
    Card.objects.filter(pk=card.pk).update(overage_bytes=123)
    topup(card, order_id=2, start=T0 + 2 * WEEK)
    card.refresh_from_db()
    assert card.overage_bytes == 0


def test_a_late_worker_still_extends_a_card_that_was_active_when_the_customer_paid():
    card = CardFactory()
    topup(card, order_id=1, start=T0)
    paid_at = T0 + WEEK - timedelta(minutes=5)
    topup(
        card, order_id=2, allowance=1 * GB, duration=DAY, start=paid_at, now=T0 + WEEK + timedelta(minutes=5)
    )
    card.refresh_from_db()
    assert card.expires_at == T0 + WEEK + DAY
    assert card.data_remaining == 6 * GB


def test_a_late_worker_gives_back_data_the_sweep_forfeited_after_the_customer_paid():
    card = CardFactory()
    topup(card, order_id=1, start=T0)
    with transaction.atomic():
        c = locked(card)
        ledger_append(
            card=c,
            kind="expiry_forfeit",
            data_delta=-c.data_remaining,
            expires_after=c.expires_at,
            now=T0 + WEEK,
        )
    topup(
        card,
        order_id=2,
        allowance=1 * GB,
        duration=DAY,
        start=T0 + WEEK - timedelta(minutes=1),
        now=T0 + WEEK + timedelta(minutes=2),
    )
    card.refresh_from_db()
    assert card.data_remaining == 6 * GB
    assert card.expires_at == T0 + WEEK + DAY
    assert ledgers_check() == []


def test_it_refuses_a_second_topup_for_the_same_order():
    card = CardFactory()
    topup(card, order_id=7)
    with pytest.raises(TopupAlreadyApplied):
        topup(card, order_id=7, start=T0 + DAY)
    card.refresh_from_db()
    assert card.data_remaining == 5 * GB
    assert card.ledger_entries.count() == 1


def test_the_database_itself_refuses_a_second_topup_entry_for_an_order():
    card = CardFactory()
    topup(card, order_id=7)
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(card=card, kind="topup", order_id=7, data_delta=1, data_after=1)


@pytest.mark.django_db(transaction=True)
def test_ledger_writes_outside_a_transaction_are_refused():
    card = CardFactory()
    with pytest.raises(LedgerError):
        card_topup(card=card, allowance_bytes=1, duration=DAY, start=T0, order_id=1, now=T0)


def test_an_entry_may_not_take_data_below_zero():
    card = CardFactory()
    topup(card, allowance=100)
    with pytest.raises(LedgerError), transaction.atomic():
        ledger_append(card=locked(card), kind="adjustment", data_delta=-101, expires_after=T0 + WEEK, now=T0)


def test_an_adjustment_needs_a_staff_member_and_a_reason(django_user_model):
    staff = django_user_model.objects.create_user(email="agent@example.com", is_staff=True)
    card = CardFactory()
    topup(card)
    with pytest.raises(LedgerError, match="reason"), transaction.atomic():
        card_adjust(card=locked(card), data_delta=GB, staff_user=staff, reason="  ", now=T0)
    with pytest.raises(LedgerError, match="staff"), transaction.atomic():
        card_adjust(card=locked(card), data_delta=GB, staff_user=None, reason="goodwill", now=T0)
    with transaction.atomic():
        entry = card_adjust(
            card=locked(card),
            data_delta=GB,
            expires_at=T0 + 2 * WEEK,
            staff_user=staff,
            reason="Network outage on 3 Nov",
            now=T0 + DAY,
        )
    card.refresh_from_db()
    assert card.data_remaining == 6 * GB
    assert card.expires_at == T0 + 2 * WEEK
    assert (entry.staff_user, entry.reason) == (staff, "Network outage on 3 Nov")
    assert entry.expires_before == T0 + WEEK


def test_an_adjustment_cannot_take_more_data_than_the_card_has(django_user_model):
    staff = django_user_model.objects.create_user(email="agent@example.com", is_staff=True)
    card = CardFactory()
    topup(card, allowance=GB)
    with pytest.raises(LedgerError), transaction.atomic():
        card_adjust(card=locked(card), data_delta=-2 * GB, staff_user=staff, reason="typo", now=T0)


def test_suspending_and_resuming_are_ledger_entries_and_refuse_repeats(django_user_model):
    staff = django_user_model.objects.create_user(email="agent@example.com", is_staff=True)
    card = CardFactory()
    topup(card)
    with transaction.atomic():
        card_suspend(card=locked(card), staff_user=staff, reason="Reported stolen", now=T0 + DAY)
    card.refresh_from_db()
    assert card.state_at(T0 + DAY) == Card.State.SUSPENDED
    with pytest.raises(LedgerError), transaction.atomic():
        card_suspend(card=locked(card), staff_user=staff, reason="again", now=T0 + DAY)
    with transaction.atomic():
        card_resume(card=locked(card), staff_user=staff, reason="Found", now=T0 + 2 * DAY)
    card.refresh_from_db()
    assert card.suspended_at is None
    with pytest.raises(LedgerError), transaction.atomic():
        card_resume(card=locked(card), staff_user=staff, reason="again", now=T0 + 2 * DAY)
    assert kinds(card) == ["topup", "suspension", "resumption"]
    assert card.data_remaining == 5 * GB


def test_a_refund_reversal_takes_back_no_more_than_what_is_left_of_the_topup():
    card = CardFactory()
    topup(card, order_id=1, allowance=5 * GB, start=T0)
    Card.objects.filter(pk=card.pk).update(data_remaining=2 * GB)
    LedgerEntry.objects.create(
        card=card, kind="usage", data_delta=-3 * GB, data_after=2 * GB, expires_after=T0 + WEEK
    )
    now = T0 + DAY
    with transaction.atomic():
        entry = card_reverse_topup(card=locked(card), order_id=1, max_data=5 * GB, max_duration=WEEK, now=now)
    card.refresh_from_db()
    assert entry.data_delta == -2 * GB
    assert card.data_remaining == 0
    # Back by the whole week would be before now: it stops at now.
    assert card.expires_at == now


def test_a_partial_reversal_moves_expiry_back_by_the_given_duration_only():
    card = CardFactory()
    topup(card, order_id=1, start=T0)
    topup(card, order_id=2, start=T0 + DAY)
    with transaction.atomic():
        card_reverse_topup(card=locked(card), order_id=2, max_data=GB, max_duration=3 * DAY, now=T0 + 2 * DAY)
    card.refresh_from_db()
    assert card.expires_at == T0 + 2 * WEEK - 3 * DAY
    assert card.data_remaining == 9 * GB


def test_repeated_reversals_never_take_back_more_than_the_topup_added():
    card = CardFactory()
    topup(card, order_id=1, start=T0, allowance=5 * GB)
    topup(card, order_id=2, start=T0 + DAY, allowance=1 * GB)
    for _ in range(3):
        with transaction.atomic():
            card_reverse_topup(
                card=locked(card), order_id=2, max_data=GB, max_duration=timedelta(0), now=T0 + 2 * DAY
            )
    card.refresh_from_db()
    assert card.data_remaining == 5 * GB


def test_reversing_an_expired_card_changes_neither_data_nor_expiry():
    card = CardFactory()
    topup(card, order_id=1, start=T0)
    with transaction.atomic():
        entry = card_reverse_topup(
            card=locked(card), order_id=1, max_data=5 * GB, max_duration=WEEK, now=T0 + 2 * WEEK
        )
    card.refresh_from_db()
    assert entry.data_delta == 0
    assert card.expires_at == T0 + WEEK


def test_reversing_an_order_that_never_topped_up_the_card_is_refused():
    card = CardFactory()
    with pytest.raises(LedgerError), transaction.atomic():
        card_reverse_topup(card=locked(card), order_id=99, max_data=1, max_duration=DAY, now=T0)


@pytest.mark.parametrize(
    ("action", "creates_event"),
    [
        ("topup", True),
        ("usage", False),
        ("expiry_forfeit", True),
        ("adjustment", True),
        ("suspension", True),
        ("resumption", True),
        ("refund_reversal", True),
    ],
)
def test_only_entries_the_network_enforces_become_provisioning_events(action, creates_event):
    card = CardFactory()
    with transaction.atomic():
        entry = ledger_append(card=locked(card), kind=action, data_delta=0, expires_after=T0, now=T0)
    assert ProvisioningEvent.objects.filter(ledger_entry=entry).exists() is creates_event


def test_a_provisioning_event_says_what_the_network_must_enforce(settings):
    settings.CARRIER_PROVISIONING_URL = ""
    card = CardFactory()
    entry = topup(card, start=T0)
    event = ProvisioningEvent.objects.get(ledger_entry=entry)
    assert event.state == ProvisioningEvent.State.NOT_SENT
    assert event.payload == {
        "ledger_entry_id": entry.id,
        "iccid": card.iccid,
        "kind": "topup",
        "data_remaining": 5 * GB,
        "expires_at": "2026-11-08T12:00:00Z",
        "suspended": False,
        "occurred_at": "2026-11-01T12:00:00Z",
    }


def test_check_ledgers_is_silent_when_every_cache_matches_its_ledger(capsys):
    card = CardFactory()
    CardFactory()  # never topped up: no entries, nothing cached
    topup(card)
    call_command("check_ledgers")
    assert "All 2 cards agree with their ledgers" in capsys.readouterr().out


def test_check_ledgers_lists_cards_that_disagree_and_exits_with_status_1(capsys):
    good, bad_data, bad_expiry = CardFactory(), CardFactory(), CardFactory()
    for order_id, card in enumerate([good, bad_data, bad_expiry], start=1):
        topup(card, order_id=order_id)
    Card.objects.filter(pk=bad_data.pk).update(data_remaining=1)
    Card.objects.filter(pk=bad_expiry.pk).update(expires_at=T0 + 2 * WEEK)
    with pytest.raises(SystemExit) as exit_info:
        call_command("check_ledgers")
    assert exit_info.value.code == 1
    output = capsys.readouterr()
    text = output.out + output.err
    assert bad_data.iccid in text
    assert bad_expiry.iccid in text
    assert good.iccid not in text
    assert {m.card_id for m in ledgers_check()} == {bad_data.pk, bad_expiry.pk}


def test_the_ledger_check_sees_data_without_any_entry():
    card = CardFactory()
    Card.objects.filter(pk=card.pk).update(data_remaining=5)
    assert [m.card_id for m in ledgers_check()] == [card.pk]


@time_machine.travel(T0, tick=False)
def test_topups_record_the_time_they_were_applied():
    card = CardFactory()
    entry = topup(card, start=T0 - timedelta(hours=1), now=datetime.now(UTC))
    assert entry.created_at == T0


def test_check_ledgers_reports_a_usage_record_that_points_at_no_usage_entry_of_its_card(capsys):
    from usage.feeds import usage_records_apply

    card, other = CardFactory(), CardFactory()
    topup(card, order_id=1)
    topup(other, order_id=2)
    start = T0 + timedelta(hours=1)
    usage_records_apply(
        records=[
            {
                "record_id": rid,
                "iccid": c.iccid,
                "start": start.isoformat(),
                "end": start.isoformat(),
                "bytes": 5,
            }
            for rid, c in [("ok", card), ("moved", card), ("gone", other)]
        ],
        now=T0 + timedelta(hours=2),
    )
    call_command("check_ledgers")  # every link right: silent
    capsys.readouterr()
    UsageRecord.objects.filter(record_id="moved").update(
        ledger_entry=LedgerEntry.objects.get(card=other, kind="usage")
    )
    UsageRecord.objects.filter(record_id="gone").update(ledger_entry_id=10**9)

    with pytest.raises(SystemExit) as exit_info:
        call_command("check_ledgers")

    assert exit_info.value.code == 1
    output = capsys.readouterr()
    assert "usage records without their card's usage ledger entry: moved, gone\n" in output.out
    assert "2 usage record(s)" in output.err


def _usage_records_for(card, *record_ids):
    from usage.feeds import usage_records_apply

    start = T0 + timedelta(hours=1)
    usage_records_apply(
        records=[
            {
                "record_id": rid,
                "iccid": card.iccid,
                "start": start.isoformat(),
                "end": start.isoformat(),
                "bytes": 5,
            }
            for rid in record_ids
        ],
        now=T0 + timedelta(hours=2),
    )


def test_check_ledgers_reports_a_usage_record_whose_card_does_not_exist(capsys):
    # The database does not check a record's card (ingest speed): a record written past the ORM
    # can name a card that does not exist, and only check_ledgers sees it.
    card = CardFactory()
    topup(card)
    _usage_records_for(card, "ok")
    entry = LedgerEntry.objects.get(card=card, kind="usage")
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO usage_usagerecord"
            ' (record_id, card_id, ledger_entry_id, start, "end", bytes, overage_bytes, received_at)'
            " VALUES (%s, %s, %s, %s, %s, 5, 0, %s)",
            ["orphan", 10**9, entry.pk, adapt(T0), adapt(T0), adapt(T0)],
        )

    with pytest.raises(SystemExit) as exit_info:
        call_command("check_ledgers")

    assert exit_info.value.code == 1
    output = capsys.readouterr()
    assert "usage records whose card does not exist: orphan\n" in output.out
    assert "1 usage record(s) belong to no card" in output.err
    # Counted as a record without a card only, not again as one without its card's entry.
    assert "usage entry" not in output.out + output.err
    assert usage_links_check() == UsageLinkProblems(1, ["orphan"], 0, [])


def test_a_card_with_usage_records_cannot_be_deleted_through_the_orm():
    card = CardFactory()
    topup(card)
    _usage_records_for(card, "r1", "r2")

    with pytest.raises(ProtectedError) as refused:
        card.delete()

    assert {r.record_id for r in refused.value.protected_objects if isinstance(r, UsageRecord)} == {
        "r1",
        "r2",
    }
    assert Card.objects.filter(pk=card.pk).exists()
    with pytest.raises(ProtectedError):
        Card.objects.filter(pk=card.pk).delete()
    assert UsageRecord.objects.filter(card=card).count() == 2
