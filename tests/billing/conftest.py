import json
import time

import pytest
import stripe
from django.utils import timezone

from notices import sms
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
    event_type: str, obj: dict, *, event_id: str | None = None, created: int | None = None
) -> dict:
    return {
        "id": event_id or f"evt_test_{time.time_ns()}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": created if created is not None else int(timezone.now().timestamp()),
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
        "data": {"object": obj},
    }


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
