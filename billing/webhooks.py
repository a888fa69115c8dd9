"""Stripe events: stored by id first, then handled by a worker through a dict of type to handler.

The demo payment page builds the same Stripe-shaped events and hands them to the same functions.
"""

import json
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import stripe
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from billing import services, stripe_client
from billing.autorenew import auto_renewal_payment_failed
from billing.models import AutoRenewal, Order, Refund, WebhookEvent

logger = logging.getLogger(__name__)


class EventNotApplicable(Exception):
    """The event cannot apply here (no matching order, say): recorded, not retried."""


def webhook_event_store(*, event: dict, now: datetime) -> tuple[WebhookEvent, bool]:
    """Store a verified event by its id and queue it after commit. A repeat is returned, not stored."""
    try:
        with transaction.atomic():
            stored = WebhookEvent.objects.create(
                stripe_event_id=event["id"],
                type=event.get("type", ""),
                livemode=bool(event.get("livemode")),
                payload=event,
                received_at=now,
            )
            transaction.on_commit(lambda: _enqueue(stored.pk))
    except IntegrityError:
        return WebhookEvent.objects.get(stripe_event_id=event["id"]), False
    return stored, True


def _enqueue(webhook_event_id: int) -> None:
    from kombu.exceptions import OperationalError

    from billing.tasks import webhook_event_process_task  # tasks import this module

    try:
        webhook_event_process_task.delay(webhook_event_id)
    except OperationalError:
        # Broker down: the event is stored, so Stripe gets its 2xx and the reconciler runs it later.
        logger.exception("Could not queue Stripe event %s; the reconciler will", webhook_event_id)


def webhook_event_process(*, webhook_event_id: int, now: datetime) -> WebhookEvent:
    """Run the handler of a stored event not processed yet; errors are recorded (re-raised if worth a retry).

    Handlers lock the order and check its state, so the rare double run (a retry racing the
    reconciler) changes nothing twice.
    """
    unprocessed = WebhookEvent.objects.filter(pk=webhook_event_id, processed_at__isnull=True).update(
        attempts=F("attempts") + 1
    )
    stored = WebhookEvent.objects.get(pk=webhook_event_id)
    if not unprocessed:
        return stored
    handler = EVENT_HANDLERS.get(stored.type)
    try:
        if handler is not None:
            handler(stored.payload, now)
    except (EventNotApplicable, services.BillingError, Order.DoesNotExist) as error:
        # Retrying cannot help; support sees the error on the event and the flagged order.
        logger.warning("Stripe event %s (%s) not applied: %s", stored.stripe_event_id, stored.type, error)
        stored.error = f"{type(error).__name__}: {error}"
    except Exception as error:
        WebhookEvent.objects.filter(pk=stored.pk).update(error=f"{type(error).__name__}: {error}")
        raise
    else:
        stored.error = ""
    stored.processed_at = timezone.now()
    stored.save(update_fields=["processed_at", "error"])
    return stored


def webhook_event_rerun(*, webhook_event_id: int, now: datetime) -> WebhookEvent:
    """Support hands a stored event to its handler again (e.g. after fixing what made it fail).

    Handlers are idempotent (an order already renewed, refunded or disputed stays as it is), so
    re-running an event that was applied changes nothing twice.
    """
    WebhookEvent.objects.filter(pk=webhook_event_id).update(processed_at=None)
    return webhook_event_process(webhook_event_id=webhook_event_id, now=now)


def _event_time(event: dict, now: datetime) -> datetime:
    created = event.get("created")
    return datetime.fromtimestamp(created, tz=UTC) if created else now


def _object(event: dict) -> dict:
    return event["data"]["object"]


def _fulfil_here(order: Order) -> None:
    """Handlers run in a worker already: renew now rather than one queue hop later. If that fails,
    the fulfilment task takes over with its retry policy (and the reconciler after it)."""
    if order.status != Order.Status.PAID:
        return
    try:
        services.order_fulfil(order_id=order.pk, now=timezone.now())
    except Exception:
        logger.exception("Order %s: renewal in the webhook worker failed; queued for retry", order.number)
        from billing.tasks import order_fulfil_task  # tasks import this module

        order_fulfil_task.delay(order.pk)


def on_checkout_session_completed(event: dict, now: datetime) -> None:
    session = _object(event)
    if session.get("payment_status") != "paid":
        # Async methods (some wallets, bank debits) confirm later with async_payment_succeeded.
        order = services._order_for_session(session)
        logger.info("Order %s: session complete, payment %s", order.number, session.get("payment_status"))
        return
    _fulfil_here(
        services.checkout_session_apply(
            session=session, now=now, paid_at=_event_time(event, now), fulfil_in_background=False
        )
    )


def on_checkout_session_async_payment_succeeded(event: dict, now: datetime) -> None:
    session = dict(_object(event), payment_status="paid")
    _fulfil_here(
        services.checkout_session_apply(
            session=session, now=now, paid_at=_event_time(event, now), fulfil_in_background=False
        )
    )


def on_checkout_session_async_payment_failed(event: dict, now: datetime) -> None:
    order = services._order_for_session(_object(event))
    services.order_close(order_id=order.pk, to=Order.Status.FAILED, now=now, reason="Payment failed.")


def on_checkout_session_expired(event: dict, now: datetime) -> None:
    order = services._order_for_session(_object(event))
    services.order_close(order_id=order.pk, to=Order.Status.EXPIRED, now=now)


def _order_for_charge(charge: dict) -> Order:
    payment_intent_id = services._id(charge.get("payment_intent"))
    order = (
        Order.objects.filter(stripe_payment_intent_id=payment_intent_id).first()
        if payment_intent_id
        else None
    )
    if order is None and charge.get("id"):
        order = Order.objects.filter(stripe_charge_id=charge["id"]).first()
    if order is None:
        raise EventNotApplicable(f"No order for charge {charge.get('id')} / {payment_intent_id}.")
    return order


def on_charge_refunded(event: dict, now: datetime) -> None:
    """Refunds made in the Stripe dashboard (or ours, echoed back): record each refund id once."""
    charge = _object(event)
    order = _order_for_charge(charge)
    refunds = [refund.to_dict() for refund in stripe_client.refunds_for_charge(charge["id"])]
    for refund in sorted(refunds, key=lambda item: item.get("created") or 0):
        if refund.get("status") in ("failed", "canceled"):
            continue
        services.order_refund_record(
            order_id=order.pk,
            amount_cents=refund["amount"],
            destination=Refund.Destination.ORIGINAL_METHOD,
            source=Refund.Source.STRIPE,
            stripe_refund_id=refund["id"],
            reason=refund.get("reason") or "Refunded in Stripe.",
            now=now,
        )


def on_charge_dispute_created(event: dict, now: datetime) -> None:
    dispute = _object(event)
    order = _order_for_charge(
        {"id": services._id(dispute.get("charge")), "payment_intent": dispute.get("payment_intent")}
    )
    services.order_dispute(
        order_id=order.pk,
        now=now,
        reason=f"Dispute {dispute.get('id')}: {dispute.get('reason') or 'no reason given'}.",
    )


def on_payment_intent_payment_failed(event: dict, now: datetime) -> None:
    """Only off-session auto-renewals fail on this: inside Checkout the customer can still try again."""
    intent = _object(event)
    order = Order.objects.filter(stripe_payment_intent_id=intent["id"]).first()
    if order is None:
        order_id = (intent.get("metadata") or {}).get("order_id")
        order = Order.objects.filter(pk=int(order_id)).first() if str(order_id or "").isdigit() else None
    if order is None or order.origin != Order.Origin.AUTO_RENEWAL:
        return
    error = intent.get("last_payment_error") or {}
    auto_renewal_payment_failed(
        order_id=order.pk,
        state=AutoRenewal.AttemptState.AUTHENTICATION_REQUIRED
        if error.get("code") == "authentication_required"
        else AutoRenewal.AttemptState.DECLINED,
        reason=error.get("message") or "Payment failed.",
        now=now,
    )


EVENT_HANDLERS: dict[str, Callable[[dict, datetime], None]] = {
    "checkout.session.completed": on_checkout_session_completed,
    "checkout.session.async_payment_succeeded": on_checkout_session_async_payment_succeeded,
    "checkout.session.async_payment_failed": on_checkout_session_async_payment_failed,
    "checkout.session.expired": on_checkout_session_expired,
    "charge.refunded": on_charge_refunded,
    "charge.dispute.created": on_charge_dispute_created,
    "payment_intent.payment_failed": on_payment_intent_payment_failed,
}


def _refuse_json_constant(name: str):
    raise ValueError(f"The payload holds {name}, which is not JSON.")


def webhook_payload_verify(*, payload: bytes, signature: str | None, secret: str) -> dict:
    """The event as a plain dict, if Stripe signed it; raises ValueError or SignatureVerificationError."""
    stripe.WebhookSignature.verify_header(
        payload.decode("utf-8"), signature, secret, stripe.Webhook.DEFAULT_TOLERANCE
    )
    try:
        # NaN and Infinity are not JSON: PostgreSQL's jsonb refuses them, and Stripe never sends them.
        event = json.loads(payload, parse_constant=_refuse_json_constant)
    except RecursionError as error:
        raise ValueError("The payload nests too deeply.") from error
    # Signed bodies can still be odd (a list, a number id): refuse what could not be stored by id.
    if not (
        isinstance(event, dict)
        and isinstance(event.get("id"), str)
        and 0 < len(event["id"]) <= WebhookEvent._meta.get_field("stripe_event_id").max_length
        and isinstance(event.get("type", ""), str)
        and len(event.get("type", "")) <= WebhookEvent._meta.get_field("type").max_length
    ):
        raise ValueError("Not a Stripe event.")
    # A lone surrogate ("\\ud800") or NUL parses but cannot be stored (UnicodeEncodeError is a
    # ValueError; PostgreSQL refuses NUL in text and jsonb). Stripe sends neither.
    text = json.dumps(event, ensure_ascii=False)
    text.encode()
    if "\\u0000" in text:  # how json.dumps writes NUL
        raise ValueError("The event holds a NUL character.")
    return event


# --- Demo payments ------------------------------------------------------------------------------


def demo_event_deliver(*, order: Order, event_type: str, now: datetime) -> WebhookEvent:
    """The demo page's Pay/Decline: a Stripe-shaped event through the webhook's own store-and-handle path."""
    paid = event_type == "checkout.session.completed"
    session = {
        "id": order.stripe_checkout_session_id or f"cs_demo_{order.pk}",
        "object": "checkout.session",
        "mode": "payment",
        "client_reference_id": str(order.pk),
        "metadata": {"order_id": str(order.pk), "order_number": order.number},
        "amount_total": order.amount_charged_cents,
        "currency": order.currency.lower(),
        "customer": None,
        "customer_details": {"email": order.customer_email or None, "phone": order.customer_phone or None},
        "payment_intent": f"pi_demo_{order.pk}" if paid else None,
        "payment_status": "paid" if paid else "unpaid",
        "status": {"checkout.session.expired": "expired"}.get(event_type, "complete"),
        "livemode": False,
    }
    event = {
        "id": f"evt_demo_{uuid.uuid4().hex}",
        "object": "event",
        "api_version": stripe.api_version,
        "created": int(now.timestamp()),
        "livemode": False,
        "type": event_type,
        "data": {"object": session},
    }
    stored, _created = webhook_event_store(event=event, now=now)
    return stored
