"""Webhooks delivered three times each in shuffled order, on two real workers: 1,000 payments; then
payments with refunds (pending, succeeded, failed) and disputes (won, lost) mixed in."""

import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from billing.models import Order, Refund, WebhookEvent
from billing.stripe_client import portal_metadata
from tests.billing.conftest import post_event, stripe_event
from tests.billing.fake_stripe import API_KEY, WEBHOOK_SECRET
from tests.faults.conftest import customers_with_cards, messages_per_order, paid_event, pending_orders
from tests.fixtures.services import wait_for
from usage.models import Card, LedgerEntry

pytestmark = pytest.mark.integration

CARDS, ORDERS_PER_CARD, DELIVERIES = 200, 5, 3


def _post_from_threads(events: list[dict], threads: int = 8) -> Counter:
    """Sign and POST every event to the webhook from `threads` clients at once: the status codes."""

    def post(chunk):
        browser = Client()
        try:
            return [post_event(browser, event).status_code for event in chunk]
        finally:
            connection.close()

    with ThreadPoolExecutor(threads) as pool:
        chunks = [events[i::threads] for i in range(threads)]
        return Counter(code for chunk in pool.map(post, chunks) for code in chunk)


def test_a_thousand_orders_delivered_three_times_each_renew_exactly_once(
    fault_worker, fault_dir, webhooks_on, plan
):
    orders = pending_orders(customers_with_cards(CARDS, sms=False), plan, per_card=ORDERS_PER_CARD)
    deliveries = [order for order in orders for _ in range(DELIVERIES)]
    random.shuffle(deliveries)
    workers = [fault_worker(pool="threads", concurrency=4) for _ in range(2)]
    started = time.monotonic()

    codes = _post_from_threads([paid_event(order) for order in deliveries])
    posted = time.monotonic() - started

    assert codes == {200: len(deliveries)}
    assert WebhookEvent.objects.count() == len(orders)
    wait_for(
        lambda: not Order.objects.exclude(status=Order.Status.FULFILLED).exists(),
        timeout=150,
        interval=1,
        what=f"{len(orders)} renewals\n{workers[0].log()[-2000:]}",
    )
    wait_for(
        lambda: sum(messages_per_order(fault_dir, "mail").values()) >= len(orders),
        timeout=60,
        interval=1,
        what="one confirmation per order",
    )
    elapsed = time.monotonic() - started

    topups = Counter(LedgerEntry.objects.filter(kind="topup").values_list("order_id", flat=True))
    assert topups == Counter({order.pk: 1 for order in orders})  # 0 doubled, 0 missed
    assert messages_per_order(fault_dir, "mail") == Counter({order.number: 1 for order in orders})
    call_command("check_ledgers")  # exits 1 on any card that disagrees with its ledger
    print(
        f"\n{len(deliveries)} deliveries of {len(orders)} events posted in {posted:.1f} s; "
        f"all renewed and confirmed once in {elapsed:.1f} s"
    )


# --- Refunds and disputes mixed in --------------------------------------------------------------

PER_SCENARIO = 30
DATA_BEFORE = 3_200_000_000
GB = 1_000_000_000


def _scenarios(fake, order, session) -> tuple[str, list[dict]]:
    """Stripe's side of one order, moved along as Stripe would, and each event as it was sent."""
    pi = session["payment_intent"]
    paid = stripe_event("checkout.session.completed", session, event_id=f"evt_storm_{order.pk}_paid")
    kind = ["paid", "refund", "partial", "refund_failed", "dispute_won", "dispute_lost", "two_partials"][
        order.pk % 7
    ]
    events = [paid]
    if kind == "refund":
        refund = fake.refund_in_dashboard(pi, 1490)
        events += [
            stripe_event("charge.refunded", fake.charge_of(pi)),
            stripe_event("refund.created", refund),
        ]
    elif kind == "partial":
        pending = fake.refund_in_dashboard(pi, 745, status="pending")
        charge = fake.charge_of(pi)
        succeeded = fake.refund_move(pending["id"], status="succeeded")
        events += [
            stripe_event("refund.created", pending),
            stripe_event("charge.refunded", charge),
            stripe_event("refund.updated", succeeded, previous_attributes={"status": "pending"}),
            stripe_event("charge.refund.updated", succeeded, previous_attributes={"status": "pending"}),
        ]
    elif kind == "refund_failed":
        pending = fake.refund_in_dashboard(pi, 1490, status="pending")
        charge = fake.charge_of(pi)
        failed = fake.refund_move(pending["id"], status="failed", failure_reason="expired_or_canceled_card")
        events += [
            stripe_event("refund.created", pending),
            stripe_event("charge.refunded", charge),
            stripe_event("refund.failed", failed),
            stripe_event("refund.updated", failed, previous_attributes={"status": "pending"}),
            stripe_event("charge.refund.updated", failed, previous_attributes={"status": "pending"}),
        ]
    elif kind in ("dispute_won", "dispute_lost"):
        opened = fake.dispute_open(pi)
        withdrawn = fake.dispute_move(opened["id"], funds_withdrawn=True)
        events += [
            stripe_event("charge.dispute.created", opened),
            stripe_event("charge.dispute.funds_withdrawn", withdrawn),
        ]
        if kind == "dispute_won":
            won = fake.dispute_move(opened["id"], status="won", funds_reinstated=True)
            events += [
                stripe_event("charge.dispute.closed", won),
                stripe_event("charge.dispute.funds_reinstated", won),
            ]
        else:
            events.append(
                stripe_event("charge.dispute.closed", fake.dispute_move(opened["id"], status="lost"))
            )
    elif kind == "two_partials":
        first = fake.refund_in_dashboard(pi, 500)
        charge_after_first = fake.charge_of(pi)
        second = fake.refund_in_dashboard(pi, 990)
        events += [
            stripe_event("refund.created", first),
            stripe_event("charge.refunded", charge_after_first),
            stripe_event("refund.created", second),
            stripe_event("charge.refunded", fake.charge_of(pi)),
        ]
    return kind, events


# What Stripe says each order came to: (status, data added to the card, validity added).
EXPECTED = {
    "paid": ("fulfilled", 5 * GB, timedelta(days=7)),
    "refund": ("refunded", 0, timedelta(0)),
    "partial": ("partially_refunded", 5 * GB // 2, timedelta(days=3, hours=12)),
    "refund_failed": ("fulfilled", 5 * GB, timedelta(days=7)),
    "dispute_won": ("fulfilled", 5 * GB, timedelta(days=7)),
    "dispute_lost": ("refunded", 0, timedelta(0)),
    "two_partials": ("refunded", 0, timedelta(0)),
}


def _active_cards(count: int) -> list:
    """Cards in use (3.2 GB left, 5 days to go), written through the ledger so check_ledgers agrees."""
    from accounts.models import User
    from usage import ledger

    staff = User.objects.create_user(email="seed@example.com", password=None, is_staff=True)
    cards = customers_with_cards(count, sms=False)
    now = timezone.now()
    with transaction.atomic():
        for card in cards:
            card = Card.objects.select_for_update().get(pk=card.pk)
            ledger.card_adjust(
                card=card,
                data_delta=DATA_BEFORE,
                expires_at=now + timedelta(days=5),
                staff_user=staff,
                reason="Card in use before the storm",
                now=now,
            )
    return list(Card.objects.filter(pk__in=[card.pk for card in cards]).select_related("owner"))


def test_refunds_and_disputes_delivered_three_times_shuffled_leave_every_order_as_stripe_says(
    fault_worker, fault_dir, fake_stripe, _fake_stripe_server, plan, settings
):
    settings.STRIPE_IDEMPOTENCY_PREFIX = "portal-storm"
    cards = _active_cards(PER_SCENARIO * 7)
    before = {card.pk: (card.data_remaining, card.expires_at) for card in cards}
    orders = pending_orders(cards, plan)
    expected, events = {}, []
    for order in orders:
        fake_stripe.checkout_session_add(
            session_id=order.stripe_checkout_session_id,
            amount_total=order.amount_charged_cents,
            currency="eur",
            metadata=portal_metadata(order),
            client_reference_id=str(order.pk),
        )
        kind, order_events = _scenarios(
            fake_stripe, order, fake_stripe.session_pay(order.stripe_checkout_session_id)
        )
        expected[order.pk] = kind
        events += order_events
    deliveries = [event for event in events for _ in range(DELIVERIES)]
    random.Random(20261201).shuffle(deliveries)
    stripe_env = {
        "STRIPE_SECRET_KEY": API_KEY,
        "STRIPE_API_BASE": _fake_stripe_server.url,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_IDEMPOTENCY_PREFIX": "portal-storm",
    }
    workers = [fault_worker(pool="threads", concurrency=4, env=stripe_env) for _ in range(2)]
    started = time.monotonic()

    codes = _post_from_threads(deliveries)

    assert codes == {200: len(deliveries)}
    assert WebhookEvent.objects.count() == len(events)

    def wrong_orders() -> list[str]:
        wrong = []
        for order in Order.objects.filter(pk__in=expected).select_related("card"):
            status, data_added, time_added = EXPECTED[expected[order.pk]]
            data_before, expiry_before = before[order.card_id]
            card_now = (order.card.data_remaining, order.card.expires_at)
            if order.status != status or card_now != (data_before + data_added, expiry_before + time_added):
                wrong.append(f"{order.number} {expected[order.pk]}: {order.status} {card_now}")
        return wrong

    def settled() -> bool:
        return not WebhookEvent.objects.filter(processed_at__isnull=True).exists() and not wrong_orders()

    deadline = time.monotonic() + 240
    while not settled():
        if time.monotonic() > deadline:
            unprocessed = list(
                WebhookEvent.objects.filter(processed_at__isnull=True).values_list("type", "error")[:5]
            )
            pytest.fail(
                f"not as Stripe says after 240 s: {wrong_orders()[:10]}; unprocessed: {unprocessed}\n"
                f"{workers[0].log()[-3000:]}"
            )
        time.sleep(2)
    elapsed = time.monotonic() - started

    assert wrong_orders() == []
    assert not WebhookEvent.objects.filter(flagged_at__isnull=False).exists()
    topups = Counter(LedgerEntry.objects.filter(kind="topup").values_list("order_id", flat=True))
    assert max(topups.values()) == 1  # never renewed twice
    succeeded = Counter(Refund.objects.filter(status="succeeded").values_list("order_id", flat=True))
    counts = {"refund": 1, "partial": 1, "two_partials": 2, "dispute_lost": 1}
    assert {pk: succeeded[pk] for pk in expected} == {
        pk: counts.get(kind, 0) for pk, kind in expected.items()
    }
    failed = [pk for pk, kind in expected.items() if kind == "refund_failed"]
    assert Order.objects.filter(pk__in=failed, flag_reason="refund").count() == len(failed)
    call_command("check_ledgers")  # exits 1 on any card that disagrees with its ledger
    print(
        f"\n{len(deliveries)} deliveries of {len(events)} events for {len(orders)} orders applied in {elapsed:.1f} s"
    )
