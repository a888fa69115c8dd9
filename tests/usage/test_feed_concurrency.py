"""Usage, top-ups and the expiry sweep racing on PostgreSQL (SQLite has no row locks to test)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from tests.fixtures.services import run_in_threads
from usage.feeds import usage_records_apply
from usage.ledger import card_topup, cards_expire, ledgers_check
from usage.models import Card, LedgerEntry, UsageRecord

from .ledger_factories import CardFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

GB = 1_000_000_000
MB = 1_000_000
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def topped_up(*, allowance=GB, order_id=1):
    card = CardFactory()
    with transaction.atomic():
        card_topup(
            card=Card.objects.select_for_update().get(pk=card.pk),
            allowance_bytes=allowance,
            duration=timedelta(days=7),
            start=T0,
            order_id=order_id,
            now=T0,
        )
    return card


def records(cards, count, prefix="r"):
    return [
        {
            "record_id": f"{prefix}{n}",
            "iccid": cards[n % len(cards)].iccid,
            "start": (T0 + timedelta(minutes=n)).isoformat(),
            "end": (T0 + timedelta(minutes=n + 1)).isoformat(),
            "bytes": MB,
        }
        for n in range(count)
    ]


def test_the_same_batch_delivered_four_times_at_once_is_applied_once():
    cards = [topped_up(order_id=n) for n in range(3)]
    batch = records(cards, 300)
    results = run_in_threads(4, lambda _: usage_records_apply(records=batch, now=T0 + timedelta(days=1)))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r.applied for r in results) == 300
    assert sum(len(r.duplicates) for r in results) == 900
    assert UsageRecord.objects.count() == 300
    # One usage entry per card from the delivery that won; the repeats wrote none.
    assert LedgerEntry.objects.filter(kind="usage").count() == 3
    for card in cards:
        card.refresh_from_db()
        assert card.data_remaining == GB - 100 * MB
    assert ledgers_check() == []


def test_overlapping_batches_in_any_order_agree_with_the_ledger():
    cards = [topped_up(order_id=n) for n in range(4)]
    batch = records(cards, 400)
    slices = [batch[0:250], batch[150:400], batch[100:300][::-1], batch[::3]]
    results = run_in_threads(4, lambda i: usage_records_apply(records=slices[i], now=T0 + timedelta(days=1)))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert UsageRecord.objects.count() == 400
    assert not LedgerEntry.objects.filter(kind="usage", usage_records__isnull=True).exists()
    assert ledgers_check() == []


def test_usage_topups_and_the_sweep_racing_on_one_card_keep_the_ledger_whole():
    card = topped_up(allowance=GB)
    expiry = T0 + timedelta(days=7)

    def work(index):
        if index == 0:
            return cards_expire(now=expiry + timedelta(minutes=1))
        if index == 1:
            with transaction.atomic():
                return card_topup(
                    card=Card.objects.select_for_update().get(pk=card.pk),
                    allowance_bytes=GB,
                    duration=timedelta(days=7),
                    start=expiry - timedelta(minutes=5),
                    order_id=99,
                    now=expiry + timedelta(minutes=1),
                )
        return usage_records_apply(records=records([card], 50, prefix=f"t{index}-"), now=expiry)

    results = run_in_threads(4, work)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert ledgers_check() == []
    card.refresh_from_db()
    # Paid before expiry: extended whatever ran first, and the leftover carried over. Usage that
    # reaches the portal after the sweep closed the period is overage, not drawn from the restored data.
    assert card.expires_at == expiry + timedelta(days=7)
    assert card.data_remaining == 2 * GB - 100 * MB + card.overage_bytes
    assert card.overage_bytes in {0, 50 * MB, 100 * MB}
