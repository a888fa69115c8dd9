"""The reconciler (DOMAIN.md "Orders and payment"): catch up on whatever webhooks and workers
missed. Beat runs orders_reconcile every minute; each sweep is its own function, safe to run at any
time, late or twice."""

import logging
from datetime import datetime, timedelta
from typing import cast

import stripe
from django.conf import settings
from django.db import transaction
from django.db.models import Q

from billing.autorenew import auto_renewal_payment_sync
from billing.errors import BillingError
from billing.models import Order, Refund, WebhookEvent
from billing.refunds import refund_send, refund_status_apply
from billing.selectors import STUCK_AFTER, orders_stuck
from billing.services import _flag, _lock, checkout_session_sync, order_close
from billing.webhooks import demo_event_deliver
from usage.provisioning import CONFIRMATION_BOUND, provisioning_events_unconfirmed_orders

logger = logging.getLogger(__name__)

Status = Order.Status

STALE_CHECKOUT = timedelta(minutes=10)
UNFULFILLED_GRACE = timedelta(minutes=2)
# An event stored but never handed to a worker (broker down) is picked up after this; one waiting
# (billing.webhooks.EventNotReady) when its next attempt is due. After STUCK_AFTER it is flagged for
# support; after EVENT_RETRY_STOP_AFTER (Stripe's own retry horizon) only support re-runs it.
UNPROCESSED_EVENT_GRACE = timedelta(minutes=1)
EVENT_RETRY_STOP_AFTER = timedelta(days=3)
DEMO_CHECKOUT_LIFETIME = timedelta(hours=1)
# Our refund request whose answer was lost (a worker died, Stripe timed out) is sent again with the
# same key, so Stripe answers with the refund it made, if it made one. Stripe keeps a key's answer
# for 24 hours: past that a resend could refund twice, so support decides instead.
REFUND_RESEND_AFTER = timedelta(minutes=2)
REFUND_RESEND_GIVE_UP = timedelta(hours=23)


def orders_reconcile(*, now: datetime) -> dict[str, int]:
    """Every sweep once, in order; returns how many orders or events each one touched."""
    checked, expired_demo = checkouts_stale_check(now=now)
    return {
        "checked": checked + auto_renewal_payments_check(now=now),
        "requeued": orders_unfulfilled_requeue(now=now),
        "events_flagged": webhook_events_waiting_flag(now=now),
        "events": webhook_events_unprocessed_requeue(now=now),
        "refunds_resent": refunds_requested_resend(now=now),
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
        # The query above: both are set.
        if cast(str, order.stripe_checkout_session_id).startswith("cs_demo_"):
            if cast(datetime, order.checkout_started_at) < now - DEMO_CHECKOUT_LIFETIME:
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
    """Paid for 2 minutes and still not renewed (partly refunded ones too): the fulfilment task is
    queued again."""
    from billing.tasks import order_fulfil_task  # tasks import this module

    order_ids = Order.objects.filter(
        status__in=(Status.PAID, Status.PARTIALLY_REFUNDED),
        fulfilled_at__isnull=True,
        paid_at__lt=now - UNFULFILLED_GRACE,
    ).values_list("pk", flat=True)[:1000]
    for order_id in order_ids:
        order_fulfil_task.delay(order_id)
    return len(order_ids)


def webhook_events_waiting_flag(*, now: datetime) -> int:
    """Stored events still not applicable after a day are flagged for support, with their order
    (unless support is looking at it already, for its own reason)."""
    flagged = 0
    waiting = WebhookEvent.objects.filter(
        processed_at__isnull=True, flagged_at__isnull=True, received_at__lt=now - STUCK_AFTER
    )
    for stored in waiting[:1000]:
        WebhookEvent.objects.filter(pk=stored.pk).update(flagged_at=now)
        flagged += 1
        if stored.order_id is None:
            continue
        with transaction.atomic():
            order = _lock(stored.order_id)
            if order.flagged_at is None:
                _flag(
                    order=order,
                    now=now,
                    reason=Order.FlagReason.STRIPE_EVENT,
                    error=f"Stripe event {stored.stripe_event_id} ({stored.type}) could not be applied for a "
                    f"day: {stored.error}",
                )
    return flagged


def webhook_events_unprocessed_requeue(*, now: datetime) -> int:
    """Stored Stripe events that are due are handed to a worker: never queued (a minute after
    they arrived), or waiting and their next attempt has come; for three days at most."""
    from billing.tasks import webhook_event_process_task  # tasks import this module

    due = WebhookEvent.objects.filter(
        processed_at__isnull=True, received_at__gte=now - EVENT_RETRY_STOP_AFTER
    ).filter(
        Q(next_attempt_at__lte=now)
        | Q(next_attempt_at__isnull=True, received_at__lt=now - UNPROCESSED_EVENT_GRACE)
    )
    event_ids = list(due.order_by("received_at").values_list("pk", flat=True)[:1000])
    for event_id in event_ids:
        webhook_event_process_task.delay(event_id)
    return len(event_ids)


def refunds_requested_resend(*, now: datetime) -> int:
    """Staff refunds still `requested` (no answer from Stripe recorded) are sent again with their
    own key; after 23 hours they are cancelled and flagged instead (see REFUND_RESEND_GIVE_UP)."""
    waiting = Refund.objects.filter(
        status=Refund.Status.REQUESTED,
        destination=Refund.Destination.ORIGINAL_METHOD,
        stripe_refund_id__isnull=True,
        created_at__lt=now - REFUND_RESEND_AFTER,
    ).order_by("created_at")[:100]
    sent = 0
    for refund in waiting:
        if refund.created_at < now - REFUND_RESEND_GIVE_UP:
            refund_status_apply(
                refund_id=refund.pk,
                status=Refund.Status.CANCELED,
                now=now,
                failure_reason="No answer from Stripe for 23 hours: check the Dashboard before refunding again.",
            )
            continue
        try:
            refund_send(refund_id=refund.pk, now=now)
            sent += 1
        except (stripe.StripeError, BillingError) as error:
            logger.warning("Reconciler: refund %s not sent again: %s", refund.pk, error)
    return sent


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
                    order=order,
                    now=now,
                    error=order.last_error or f"Stuck {order.status} for over 24 hours.",
                    reason=order.flag_reason or Order.FlagReason.STUCK,
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
                reason=Order.FlagReason.NETWORK,
            )
            flagged += 1
    return flagged
