"""Fixtures of the fault-injection tests: workers with fault hooks, orders paid by signed webhooks."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from billing.models import Order
from billing.services import order_create
from tests.billing import stripe_shapes
from tests.billing.conftest import post_event, stripe_event
from tests.billing.factories import PlanFactory
from tests.billing.fake_stripe import WEBHOOK_SECRET
from usage.models import Card

# A task lost with a killed worker is back on the queue within about two seconds, not an hour.
# kombu guards the restore with a Redis lock that lives 300 s by default: a worker killed while it
# held the lock stopped every restore for five minutes (seen in CI), so the lock lapses quickly too.
FAST_REDELIVERY = {
    "visibility_timeout": 2,
    "unacked_restore_interval": 0.5,
    "unacked_restore_throttle": 1,
    "unacked_mutex_expire": 3,
}
ORDER_NUMBER = re.compile(r"MC-\d{4}-\d{6}")


@pytest.fixture
def fault_dir(tmp_path) -> Path:
    path = tmp_path / "faults"
    path.mkdir()
    return path


@pytest.fixture
def fault_worker(celery_worker_factory, fault_dir):
    """Start a real worker with the fault hooks of tests.faults.hooks (see its docstring)."""

    def start(*, points: str = "", delay: float = 0.3, env: dict | None = None, **options):
        options.setdefault("transport_options", FAST_REDELIVERY)
        return celery_worker_factory(
            env={
                "DJANGO_SETTINGS_MODULE": "tests.faults.worker_settings",
                "FAULT_DIR": str(fault_dir),
                "FAULT_POINTS": points,
                "FAULT_DELAY": str(delay),
                **(env or {}),
            },
            **options,
        )

    return start


@pytest.fixture
def webhooks_on(settings):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET


@pytest.fixture
def plan():
    return PlanFactory()


def customers_with_cards(count: int, *, sms: bool = True) -> list[Card]:
    """Customers with email (and a verified phone taking SMS notices), each with an active card."""
    cards = []
    with transaction.atomic():
        for index in range(count):
            user = User.objects.create_user(
                email=f"fault{index}@example.com",
                phone=f"+3776{index:08d}" if sms else None,
                phone_verified=sms,
                notify_sms=sms,
                password=None,
            )
            # Never activated: the ledger is empty and the cache agrees with it (check_ledgers).
            cards.append(Card.objects.create(iccid=_iccid(index), owner=user, kind=Card.Kind.ESIM))
    return cards


def _iccid(index: int) -> str:
    from usage.iccid import iccid_with_check_digit

    return iccid_with_check_digit(f"89377{index + 700_000:013d}")


def pending_orders(cards: list[Card], plan, *, per_card: int = 1) -> list[Order]:
    """Orders sent to (fake) Checkout, waiting for Stripe to say they are paid."""
    now = timezone.now()
    orders = []
    with transaction.atomic():
        for _ in range(per_card):
            for card in cards:
                order = order_create(user=card.owner, plan=plan, card=card, now=now)
                order.stripe_checkout_session_id = f"cs_test_fault_{order.pk}"
                order.checkout_started_at = now
                order.save(update_fields=["stripe_checkout_session_id", "checkout_started_at"])
                orders.append(order)
    return orders


def paid_event(order: Order) -> dict:
    """`checkout.session.completed` for the order, paid, in Stripe's shape (demo mode: no PaymentIntent)."""
    session = stripe_shapes.checkout_session(
        session_id=order.stripe_checkout_session_id,
        amount_total=order.amount_charged_cents,
        currency=order.currency.lower(),
        status="complete",
        payment_status="paid",
        client_reference_id=str(order.pk),
        metadata={"order_id": str(order.pk), "order_number": order.number},
    )
    return stripe_event("checkout.session.completed", session, event_id=f"evt_fault_{order.pk}")


def deliver(client, order: Order):
    return post_event(client, paid_event(order))


def messages_per_order(fault_dir: Path, channel: str) -> Counter:
    """How many messages the fake provider accepted per order number on a channel (mail, sms)."""
    counts: Counter = Counter()
    folder = fault_dir / channel
    if folder.exists():
        for path in folder.glob("*.txt"):
            counts.update(set(ORDER_NUMBER.findall(path.read_text(encoding="utf-8"))))
    return counts
