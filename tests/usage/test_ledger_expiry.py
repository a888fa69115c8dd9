from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import transaction

from usage.feeds import usage_records_apply
from usage.ledger import card_adjust, card_topup, cards_expire, ledgers_check
from usage.models import Card, LedgerEntry, ProvisioningEvent
from usage.provisioning import provisioning_payload
from usage.tasks import cards_expire_sweep

from .ledger_factories import CardFactory

GB = 1_000_000_000
WEEK = timedelta(days=7)
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
EXPIRY = T0 + WEEK

pytestmark = pytest.mark.django_db


def topped_up(*, allowance=GB, start=T0, order_id=None):
    card = CardFactory()
    with transaction.atomic():
        card_topup(
            card=Card.objects.select_for_update().get(pk=card.pk),
            allowance_bytes=allowance,
            duration=WEEK,
            start=start,
            order_id=order_id or card.pk,
            now=start,
        )
    card.refresh_from_db()
    return card


def forfeits(card):
    return list(card.ledger_entries.filter(kind="expiry_forfeit"))


def test_nothing_is_forfeited_before_expiry():
    card = topped_up()
    assert cards_expire(now=EXPIRY - timedelta(seconds=1)) == 0
    card.refresh_from_db()
    assert card.data_remaining == GB
    assert forfeits(card) == []


def test_at_expiry_unused_data_is_forfeited_in_the_ledger():
    card = topped_up()
    assert cards_expire(now=EXPIRY) == 1
    card.refresh_from_db()
    assert card.data_remaining == 0
    [entry] = forfeits(card)
    assert (entry.data_delta, entry.data_after) == (-GB, 0)
    assert entry.expires_before == entry.expires_after == EXPIRY
    assert entry.created_at == EXPIRY
    assert ledgers_check() == []


def test_running_the_sweep_twice_changes_nothing_more():
    card = topped_up()
    cards_expire(now=EXPIRY)
    assert cards_expire(now=EXPIRY + timedelta(minutes=1)) == 0
    assert cards_expire(now=EXPIRY) == 0
    assert len(forfeits(card)) == 1
    assert ProvisioningEvent.objects.filter(ledger_entry__kind="expiry_forfeit").count() == 1


def test_a_late_sweep_still_forfeits_and_records_the_expiry_it_closes():
    card = topped_up()
    cards_expire(now=EXPIRY + timedelta(days=3))
    [entry] = forfeits(card)
    assert entry.expires_before == EXPIRY
    assert entry.created_at == EXPIRY + timedelta(days=3)


def test_a_period_ended_with_no_data_left_is_still_closed_for_the_network():
    card = topped_up()
    usage_records_apply(
        records=[
            {
                "record_id": "r",
                "iccid": card.iccid,
                "start": "2026-11-02T10:00:00Z",
                "end": "2026-11-02T11:00:00Z",
                "bytes": 2 * GB,
            }
        ],
        now=T0 + timedelta(days=1),
    )
    assert cards_expire(now=EXPIRY) == 1
    [entry] = forfeits(card)
    assert entry.data_delta == 0
    assert ProvisioningEvent.objects.filter(ledger_entry=entry).exists()


def test_the_sweep_closes_every_due_card_at_once_and_leaves_the_others():
    due = [topped_up() for _ in range(5)]
    later = topped_up(start=T0 + timedelta(days=1))
    never = CardFactory()
    assert cards_expire(now=EXPIRY) == 5
    for card in due:
        card.refresh_from_db()
        assert card.data_remaining == 0
    later.refresh_from_db()
    assert later.data_remaining == GB
    assert not never.ledger_entries.exists()
    assert ledgers_check() == []


def test_a_renewed_card_is_not_swept():
    card = topped_up()
    with transaction.atomic():
        card_topup(
            card=Card.objects.select_for_update().get(pk=card.pk),
            allowance_bytes=GB,
            duration=WEEK,
            start=EXPIRY - timedelta(hours=1),
            order_id=999,
            now=EXPIRY - timedelta(hours=1),
        )
    assert cards_expire(now=EXPIRY + timedelta(minutes=1)) == 0
    card.refresh_from_db()
    assert card.data_remaining == 2 * GB


def test_renewing_after_the_sweep_starts_fresh_with_one_forfeit():
    card = topped_up()
    cards_expire(now=EXPIRY)
    renewed = EXPIRY + timedelta(days=2)
    with transaction.atomic():
        card_topup(
            card=Card.objects.select_for_update().get(pk=card.pk),
            allowance_bytes=3 * GB,
            duration=WEEK,
            start=renewed,
            order_id=999,
            now=renewed,
        )
    card.refresh_from_db()
    assert card.data_remaining == 3 * GB
    assert len(forfeits(card)) == 1
    assert cards_expire(now=renewed + WEEK) == 1
    assert len(forfeits(card)) == 2
    assert ledgers_check() == []


def test_periods_ended_more_than_a_week_ago_are_left_alone():
    card = topped_up()
    assert cards_expire(now=EXPIRY + timedelta(days=8)) == 0
    card.refresh_from_db()
    assert card.data_remaining == GB
    # ...and the traveller still sees nothing left, whatever the cache says.
    assert card.data_remaining_at(EXPIRY + timedelta(days=8)) == 0


def test_the_sweep_records_a_provisioning_event_per_forfeit(settings):
    settings.CARRIER_PROVISIONING_URL = ""
    card = topped_up()
    card.suspended_at = T0  # suspension shows in the payload
    Card.objects.filter(pk=card.pk).update(suspended_at=T0)
    cards_expire(now=EXPIRY + timedelta(seconds=30))
    [entry] = forfeits(card)
    event = ProvisioningEvent.objects.get(ledger_entry=entry)
    assert event.state == ProvisioningEvent.State.NOT_SENT
    assert event.card_id == card.pk
    assert event.payload == {
        "ledger_entry_id": entry.id,
        "iccid": card.iccid,
        "kind": "expiry_forfeit",
        "data_remaining": 0,
        "expires_at": "2026-11-08T12:00:00Z",
        "suspended": True,
        "occurred_at": "2026-11-08T12:00:30Z",
    }
    # The sweep's SQL and the Python payload of a single entry say the same.
    assert event.payload == provisioning_payload(entry=entry, card=Card.objects.get(pk=card.pk))


def test_an_adjustment_cannot_add_data_to_an_expired_card_without_a_new_expiry(django_user_model):
    from usage.ledger import LedgerError

    staff = django_user_model.objects.create_user(email="agent@example.com", is_staff=True)
    card = topped_up()
    with pytest.raises(LedgerError), transaction.atomic():
        card_adjust(
            card=Card.objects.select_for_update().get(pk=card.pk),
            data_delta=GB,
            staff_user=staff,
            reason="goodwill",
            now=EXPIRY + timedelta(days=1),
        )


@time_machine.travel(EXPIRY + timedelta(minutes=1), tick=False)
def test_the_periodic_task_sweeps_at_the_current_time():
    card = topped_up()
    assert cards_expire_sweep.delay().get() == 1
    card.refresh_from_db()
    assert card.data_remaining == 0
    assert LedgerEntry.objects.filter(kind="expiry_forfeit").count() == 1
