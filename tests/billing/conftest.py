import json
import time

import pytest
import stripe

from notices import sms
from tests.billing import stripe_shapes
from tests.billing.factories import GB, PlanFactory
from tests.billing.fake_stripe import WEBHOOK_SECRET
from tests.usage.card_factories import OwnedCardFactory


@pytest.fixture(autouse=True)
def _billing_db(transactional_db):
    """Orders enqueue their work with transaction.on_commit: the tests need real commits."""


@pytest.fixture(autouse=True)
def _celery_eagerness_restored():
    # The shared celery_worker fixture turns eager mode off and may not restore it; later tests
    # here rely on eager tasks, so put back what was there before each test.
    from portal.celery import app

    eager = app.conf.task_always_eager
    yield
    app.conf.task_always_eager = eager


@pytest.fixture(autouse=True)
def _sms_outbox():
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def demo_mode(settings):
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_API_BASE = ""
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.PAYMENTS_DEMO_MODE = True


@pytest.fixture
def week_plan():
    return PlanFactory()


@pytest.fixture
def day_plan():
    return PlanFactory(code="day", name="Day 1 GB", period="day", data_bytes=1 * GB, price_cents=490)


@pytest.fixture
def card(owner):
    """Alice's card: active, 3.2 GB left, expires in 5 days."""
    return OwnedCardFactory(owner=owner)


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def outsider_client(outsider):
    """A browser of its own, so the owner and the outsider can both be logged in within one test."""
    from django.test import Client

    outsider_browser = Client()
    outsider_browser.force_login(outsider)
    return outsider_browser


def stripe_event(
    event_type: str, obj: dict, *, event_id: str | None = None, created: int | None = None, **fields
) -> dict:
    """An event body as Stripe sends it (tests/billing/stripe_shapes.py, from Stripe's fixtures)."""
    return stripe_shapes.event(event_type, obj, event_id=event_id, created=created, **fields)


def signed_headers(payload: str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> dict:
    header = stripe.WebhookSignature.generate_signature_header(
        payload, secret, timestamp=timestamp if timestamp is not None else int(time.time())
    )
    return {"HTTP_STRIPE_SIGNATURE": header}


def post_event(client, event: dict, **kwargs):
    payload = json.dumps(event)
    return client.post(
        "/stripe/webhook", data=payload, content_type="application/json", **signed_headers(payload, **kwargs)
    )


@pytest.fixture
def checkout_order(owner_client, card, week_plan, fake_stripe):
    """Alice sent to Stripe Checkout for the week plan (14.90 EUR, 5 GB, 7 days) on her card."""
    from django.urls import reverse

    from billing.models import Order

    owner_client.post(reverse("billing:checkout"), {"start_now": "on", "plan": "week", "card": card.pk})
    return Order.objects.get()


def paid_at_stripe(fake_stripe, order) -> dict:
    """The customer pays on Checkout: the completed session, as `checkout.session.completed` carries it."""
    return fake_stripe.session_pay(order.stripe_checkout_session_id)


@pytest.fixture
def paid_order(client, checkout_order, card, fake_stripe):
    """The week plan paid by card and renewed: Stripe told us by webhook."""
    post_event(
        client, stripe_event("checkout.session.completed", paid_at_stripe(fake_stripe, checkout_order))
    )
    checkout_order.refresh_from_db()
    assert checkout_order.status == "fulfilled"
    card.refresh_from_db()
    return checkout_order


@pytest.fixture
def paid_not_renewed(checkout_order, fake_stripe):
    """Paid at Stripe and recorded, the renewal not run yet (its worker is late): the PaymentIntent."""
    from django.utils import timezone

    from billing.services import order_mark_paid

    session = paid_at_stripe(fake_stripe, checkout_order)
    order_mark_paid(
        order_id=checkout_order.pk,
        paid_at=timezone.now(),
        now=timezone.now(),
        payment_intent_id=session["payment_intent"],
        amount_cents=checkout_order.amount_charged_cents,
        currency="eur",
        fulfil_in_background=False,
    )
    return session["payment_intent"]
