"""The reconciler catches up on whatever webhooks and workers missed (DOMAIN.md)."""

from datetime import timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import Order, WebhookEvent
from billing.reconcile import orders_reconcile
from billing.services import order_create
from billing.webhooks import webhook_event_store
from tests.billing.conftest import stripe_event
from usage.models import LedgerEntry


@pytest.fixture
def stripe_order(owner_client, card, week_plan, fake_stripe):
    owner_client.post(reverse("billing:checkout"), {"start_now": "on", "plan": "week", "card": card.pk})
    return Order.objects.get()


def test_a_stale_pending_order_paid_on_stripe_is_renewed(stripe_order, fake_stripe):
    fake_stripe.session_pay(stripe_order.stripe_checkout_session_id)

    orders_reconcile(now=timezone.now() + timedelta(minutes=5))
    stripe_order.refresh_from_db()
    assert stripe_order.status == Order.Status.PENDING  # not stale yet: the webhook may still come

    counts = orders_reconcile(now=timezone.now() + timedelta(minutes=11))
    stripe_order.refresh_from_db()
    assert counts["checked"] == 1
    assert stripe_order.status == Order.Status.FULFILLED


def test_a_stale_session_that_expired_on_stripe_expires_the_order(stripe_order, fake_stripe):
    fake_stripe.sessions[stripe_order.stripe_checkout_session_id]["status"] = "expired"

    orders_reconcile(now=timezone.now() + timedelta(minutes=11))

    stripe_order.refresh_from_db()
    assert stripe_order.status == Order.Status.EXPIRED


def test_a_paid_order_not_renewed_within_two_minutes_is_queued_again(owner, card, week_plan, fake_stripe):
    order = order_create(user=owner, plan=week_plan, card=card, now=timezone.now())
    paid_at = timezone.now() - timedelta(minutes=3)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID, paid_at=paid_at)

    counts = orders_reconcile(now=timezone.now())

    order.refresh_from_db()
    assert counts["requeued"] == 1
    assert order.status == Order.Status.FULFILLED
    assert LedgerEntry.objects.get(order_id=order.pk).expires_after == card.expires_at + timedelta(days=7)


def test_a_stored_event_never_processed_is_run_again(stripe_order, fake_stripe):
    session = fake_stripe.session_pay(stripe_order.stripe_checkout_session_id)
    session = {key: value for key, value in session.items() if not key.startswith("_")}
    with mock.patch("billing.webhooks._enqueue"):  # the worker never got it
        stored, _ = webhook_event_store(
            event=stripe_event("checkout.session.completed", session), now=timezone.now()
        )
    assert WebhookEvent.objects.get().processed_at is None

    orders_reconcile(now=timezone.now() + timedelta(minutes=2))

    stored.refresh_from_db()
    stripe_order.refresh_from_db()
    assert stored.processed_at is not None
    assert stripe_order.status == Order.Status.FULFILLED


def test_an_order_stuck_for_24_hours_is_flagged_for_support_once(owner, card, week_plan, fake_stripe):
    order = order_create(user=owner, plan=week_plan, card=card, now=timezone.now() - timedelta(hours=25))
    Order.objects.filter(pk=order.pk).update(
        stripe_checkout_session_id="cs_test_lost", checkout_started_at=order.created_at
    )
    fake_stripe.fail_all = True  # Stripe cannot tell us either

    first = orders_reconcile(now=timezone.now())
    second = orders_reconcile(now=timezone.now())

    order.refresh_from_db()
    assert order.flagged_at is not None
    assert (first["flagged"], second["flagged"]) == (1, 0)


def test_a_demo_checkout_left_for_an_hour_expires(owner_client, card, week_plan, demo_mode):
    owner_client.post(reverse("billing:checkout"), {"start_now": "on", "plan": "week", "card": card.pk})
    order = Order.objects.get()

    orders_reconcile(now=timezone.now() + timedelta(minutes=30))
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING

    orders_reconcile(now=timezone.now() + timedelta(minutes=61))
    order.refresh_from_db()
    assert order.status == Order.Status.EXPIRED
    assert WebhookEvent.objects.filter(type="checkout.session.expired").count() == 1


def test_an_order_that_never_reached_checkout_expires(owner, card, week_plan, fake_stripe):
    order = order_create(user=owner, plan=week_plan, card=card, now=timezone.now() - timedelta(minutes=15))

    orders_reconcile(now=timezone.now())

    order.refresh_from_db()
    assert order.status == Order.Status.EXPIRED


def test_the_reconciler_is_in_the_beat_schedule(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"billing.tasks.orders_reconcile_task", "billing.tasks.auto_renewals_run_task"} <= tasks
