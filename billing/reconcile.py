"""The reconciler (DOMAIN.md "Orders and payment"): catch up on whatever webhooks and workers
missed. Beat runs orders_reconcile every minute; each sweep is its own function, safe to run at any
time, late or twice."""

import logging
from datetime import datetime, timedelta

import stripe
from django.conf import settings
from django.db import transaction

from billing.autorenew import auto_renewal_payment_sync
from billing.errors import BillingError
from billing.models import Order, WebhookEvent
from billing.selectors import orders_stuck
from billing.services import _flag, _lock, checkout_session_sync, order_close
from billing.webhooks import demo_event_deliver
from usage.provisioning import CONFIRMATION_BOUND, provisioning_events_unconfirmed_orders

logger = logging.getLogger(__name__)

Status = Order.Status

STALE_CHECKOUT = timedelta(minutes=10)
UNFULFILLED_GRACE = timedelta(minutes=2)
UNPROCESSED_EVENT_GRACE = timedelta(minutes=1)
DEMO_CHECKOUT_LIFETIME = timedelta(hours=1)


def orders_reconcile(*, now: datetime) -> dict[str, int]:
    """Every sweep once, in order; returns how many orders or events each one touched."""
    checked, expired_demo = checkouts_stale_check(now=now)
    return {
        "checked": checked + auto_renewal_payments_check(now=now),
        "requeued": orders_unfulfilled_requeue(now=now),
        "events": webhook_events_unprocessed_requeue(now=now),
        "expired_unstarted": orders_unstarted_expire(now=now),
        "flagged": orders_stuck_flag(now=now),
        "network_unconfirmed": orders_unconfirmed_by_network_flag(now=now),
        "expired_demo": expired_demo,
    }


def checkouts_stale_check(*, now: datetime) -> tuple[int, int]:
    """Checkouts older than 10 minutes are asked of Stripe; a demo checkout left open for an hour
    expires as Stripe's would. Returns (checked at Stripe, demo checkouts expired)."""
    checked = expired_demo = 0
    stale = Order.objects.filter(
        status=Status.PENDING,
        stripe_checkout_session_id__isnull=False,
        checkout_started_at__lt=now - STALE_CHECKOUT,
        flagged_at__isnull=True,
    ).order_by("checkout_started_at")[:500]
    for order in stale:
        if order.stripe_checkout_session_id.startswith("cs_demo_"):
            if order.checkout_started_at < now - DEMO_CHECKOUT_LIFETIME:
                demo_event_deliver(order=order, event_type="checkout.session.expired", now=now)
                expired_demo += 1
            continue
        if settings.PAYMENTS_DEMO_MODE:
            continue
        try:
            checkout_session_sync(order_id=order.pk, now=now)
            checked += 1
        except (stripe.StripeError, BillingError) as error:
            logger.warning("Reconciler: order %s not checked: %s", order.number, error)
    return checked, expired_demo


def auto_renewal_payments_check(*, now: datetime) -> int:
    """Off-session auto-renewal payments still processing after 10 minutes are asked of Stripe."""
    if settings.PAYMENTS_DEMO_MODE:
        return 0
    checked = 0
    processing = Order.objects.filter(
        status=Status.PENDING,
        origin=Order.Origin.AUTO_RENEWAL,
        stripe_payment_intent_id__isnull=False,
        created_at__lt=now - STALE_CHECKOUT,
        flagged_at__isnull=True,
    )[:500]
    for order in processing:
        try:
            auto_renewal_payment_sync(order_id=order.pk, now=now)
            checked += 1
        except (stripe.StripeError, BillingError) as error:
            logger.warning("Reconciler: order %s not checked: %s", order.number, error)
    return checked


def orders_unfulfilled_requeue(*, now: datetime) -> int:
    """Paid for 2 minutes and still not renewed: the fulfilment task is queued again."""
    from billing.tasks import order_fulfil_task  # tasks import this module

    order_ids = Order.objects.filter(status=Status.PAID, paid_at__lt=now - UNFULFILLED_GRACE).values_list(
        "pk", flat=True
    )[:1000]
    for order_id in order_ids:
        order_fulfil_task.delay(order_id)
    return len(order_ids)


def webhook_events_unprocessed_requeue(*, now: datetime) -> int:
    """Stored Stripe events not processed within a minute are handed to a worker again."""
    from billing.tasks import webhook_event_process_task  # tasks import this module

    event_ids = WebhookEvent.objects.filter(
        processed_at__isnull=True, received_at__lt=now - UNPROCESSED_EVENT_GRACE, attempts__lt=20
    ).values_list("pk", flat=True)[:1000]
    for event_id in event_ids:
        webhook_event_process_task.delay(event_id)
    return len(event_ids)


def orders_unstarted_expire(*, now: datetime) -> int:
    """Created but never sent to Checkout (the process died in between): nothing can pay it now."""
    order_ids = Order.objects.filter(
        status=Status.PENDING,
        origin=Order.Origin.CUSTOMER,
        stripe_checkout_session_id__isnull=True,
        created_at__lt=now - STALE_CHECKOUT,
    ).values_list("pk", flat=True)[:1000]
    for order_id in order_ids:
        order_close(order_id=order_id, to=Status.EXPIRED, now=now, reason="Never reached Checkout.")
    return len(order_ids)


def orders_stuck_flag(*, now: datetime) -> int:
    """Anything stuck for 24 hours is flagged for support, once."""
    flagged = 0
    for order in Order.objects.filter(orders_stuck(now=now), flagged_at__isnull=True)[:1000]:
        with transaction.atomic():
            order = _lock(order.pk)
            if order.flagged_at is None:
                _flag(
                    order=order, now=now, error=order.last_error or f"Stuck {order.status} for over 24 hours."
                )
                flagged += 1
    return flagged


def orders_unconfirmed_by_network_flag(*, now: datetime) -> int:
    """Renewed orders whose top-up the carrier has not acknowledged within CONFIRMATION_BOUND: flagged
    for support, once (the order and card pages tell the traveller). Sending goes on meanwhile."""
    minutes = int(CONFIRMATION_BOUND.total_seconds() // 60)
    flagged = 0
    for order_id in provisioning_events_unconfirmed_orders(now=now):
        with transaction.atomic():
            order = Order.objects.select_for_update().filter(pk=order_id, flagged_at__isnull=True).first()
            if order is None:
                continue
            _flag(
                order=order,
                now=now,
                error=f"The network has not confirmed the top-up within {minutes} minutes.",
            )
            flagged += 1
    return flagged
