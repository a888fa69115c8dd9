"""Stripe events: stored by id first, then handled by a worker through a dict of type to handler.

The demo payment page builds the same Stripe-shaped events and hands them to the same functions.
"""

import json
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import cast

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from billing import refunds, selectors, services, stripe_client
from billing.autorenew import auto_renewal_payment_failed
from billing.models import AutoRenewal, Order, WebhookEvent

logger = logging.getLogger(__name__)


class EventNotApplicable(Exception):
    """The event can never apply here (a payment for an order that was closed unpaid, say):
    recorded as processed and flagged for support, not retried."""


class EventNotOurs(Exception):
    """A payment the portal did not make (another integration or installation on the same
    Stripe account): recorded as processed, nothing to do."""


class EventNotReady(Exception):
    """The portal cannot place or apply the event yet (its payment is not recorded): kept
    unprocessed and run again with backoff, and as soon as that order's payment is recorded."""

    def __init__(self, message: str, *, order: Order | None = None):
        super().__init__(message)
        self.order = order


# Backoff of an event that is not ready: 1, 2, 4 ... minutes, at most an hour apart (the
# reconciler runs it when due, billing.reconcile).
RETRY_FIRST = timedelta(minutes=1)
RETRY_MAX = timedelta(hours=1)


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


def _retry_delay(attempts: int) -> timedelta:
    return min(RETRY_FIRST * 2 ** max(attempts - 1, 0), RETRY_MAX)


def webhook_event_process(*, webhook_event_id: int, now: datetime) -> WebhookEvent:
    """Run the handler of a stored event not processed yet. "Processed" means applied (or
    deliberately ignored); an event that cannot apply yet stays unprocessed and is retried.

    Handlers lock the order and check its state, so the rare double run (a retry racing the
    reconciler) changes nothing twice.
    """
    unprocessed = WebhookEvent.objects.filter(pk=webhook_event_id, processed_at__isnull=True).update(
        attempts=F("attempts") + 1
    )
    stored = WebhookEvent.objects.get(pk=webhook_event_id)
    if not unprocessed:
        return stored
    if stored.livemode != stripe_client.key_is_live():
        mode = "live" if stored.livemode else "test"
        return _finish(
            stored,
            error=f"A {mode}-mode event, but the portal runs with a {'live' if not stored.livemode else 'test'}"
            " key: ignored.",
            flag=True,
        )
    api_version = stored.payload.get("api_version")
    if api_version and api_version != settings.STRIPE_API_VERSION:
        logger.warning(
            "Stripe event %s has API version %s; the endpoint should use %s (README)",
            stored.stripe_event_id,
            api_version,
            settings.STRIPE_API_VERSION,
        )
    handler = EVENT_HANDLERS.get(stored.type)
    try:
        if handler is not None:
            handler(stored.payload, now)
    except EventNotReady as error:
        return _wait(stored, now=now, error=error)
    except (EventNotOurs, Order.DoesNotExist) as error:
        logger.info(
            "Stripe event %s (%s) is not the portal's: %s", stored.stripe_event_id, stored.type, error
        )
        return _finish(stored, error=f"Not a portal payment: {error}", flag=False)
    except (EventNotApplicable, services.BillingError) as error:
        # Retrying cannot help; support sees the error on the event and the flagged order.
        logger.warning("Stripe event %s (%s) not applied: %s", stored.stripe_event_id, stored.type, error)
        return _finish(stored, error=f"{type(error).__name__}: {error}", flag=True)
    except Exception as error:
        WebhookEvent.objects.filter(pk=stored.pk).update(
            error=f"{type(error).__name__}: {error}"[:2000],
            next_attempt_at=now + _retry_delay(stored.attempts),
        )
        raise
    return _finish(stored, error="", flag=False)


def _finish(stored: WebhookEvent, *, error: str, flag: bool) -> WebhookEvent:
    stored.processed_at = timezone.now()
    stored.error = error
    stored.next_attempt_at = None
    stored.flagged_at = (stored.flagged_at or stored.processed_at) if flag else None
    stored.save(update_fields=["processed_at", "error", "next_attempt_at", "flagged_at"])
    return stored


def _wait(stored: WebhookEvent, *, now: datetime, error: EventNotReady) -> WebhookEvent:
    stored.error = f"Waiting: {error}"
    stored.next_attempt_at = now + _retry_delay(stored.attempts)
    fields = ["error", "next_attempt_at"]
    paid_meanwhile = False
    with transaction.atomic():
        if error.order is not None:
            # The link is saved under the order's lock, which a payment holds while it is recorded
            # (services.order_pay_and_renew asks for waiting events under it): either that payment
            # sees this event, or this sees the order paid below and runs again.
            status = (
                Order.objects.select_for_update()
                .filter(pk=error.order.pk)
                .values_list("status", flat=True)
                .first()
            )
            paid_meanwhile = status is not None and status != Order.Status.PENDING
            if stored.order_id != error.order.pk:
                stored.order = error.order
                fields.append("order")
        stored.save(update_fields=fields)
    logger.info("Stripe event %s (%s) waits: %s", stored.stripe_event_id, stored.type, error)
    if paid_meanwhile:
        # The payment was recorded while this ran, perhaps before the link above was saved, so
        # the payment's own call for waiting events may have missed this one: run it again now.
        _enqueue(stored.pk)
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
        services.order_fulfil(order_id=order.pk, now=timezone.now(), paid_order=order)
    except Exception:
        logger.exception("Order %s: renewal in the webhook worker failed; queued for retry", order.number)
        from billing.tasks import order_fulfil_task  # tasks import this module

        order_fulfil_task.delay(order.pk)


def _paid_session_apply(session: dict, paid_at: datetime, now: datetime) -> None:
    """The payment recorded and the card renewed in one transaction when the order allows it
    (services.order_pay_and_renew); else the payment, then the renewal here (_fulfil_here)."""
    order = services._order_for_session(session)
    payment = services.checkout_session_payment(session)
    try:
        renewed = services.order_pay_and_renew(order=order, paid_at=paid_at, now=now, **payment)
    except Exception:
        # Rolled back whole: the payment is recorded on its own, the fulfilment task queued with it.
        logger.exception("Order %s: payment with renewal failed; recording the payment alone", order.number)
        services.order_mark_paid(order_id=order.pk, paid_at=paid_at, now=now, **payment)
        return
    if renewed is None:
        _fulfil_here(
            services.order_mark_paid(
                order_id=order.pk, paid_at=paid_at, now=now, fulfil_in_background=False, **payment
            )
        )


def on_checkout_session_completed(event: dict, now: datetime) -> None:
    session = _object(event)
    if session.get("payment_status") != "paid":
        # Async methods (some wallets, bank debits) confirm later with async_payment_succeeded.
        order = services._order_for_session(session)
        logger.info("Order %s: session complete, payment %s", order.number, session.get("payment_status"))
        return
    _paid_session_apply(session, _event_time(event, now), now)


def on_checkout_session_async_payment_succeeded(event: dict, now: datetime) -> None:
    _paid_session_apply(dict(_object(event), payment_status="paid"), _event_time(event, now), now)


def on_checkout_session_async_payment_failed(event: dict, now: datetime) -> None:
    order = services._order_for_session(_object(event))
    services.order_close(order_id=order.pk, to=Order.Status.FAILED, now=now, reason="Payment failed.")


def on_checkout_session_expired(event: dict, now: datetime) -> None:
    order = services._order_for_session(_object(event))
    services.order_close(order_id=order.pk, to=Order.Status.EXPIRED, now=now)


# --- Which order a charge, refund or dispute is about --------------------------------------------


def _portal_order_id(metadata: dict | None) -> int | None:
    """The order a Stripe object's metadata names, if this installation wrote it."""
    metadata = metadata or {}
    order_id = str(metadata.get("order_id") or "")
    installation = metadata.get("installation")
    if not order_id.isdigit() or (installation and installation != stripe_client.installation_prefix()):
        return None
    return int(order_id)


def order_for_payment(
    *, payment_intent_id: str | None, charge_id: str | None, metadata: dict | None
) -> Order:
    """The paid order a charge, refund or dispute is about.

    By the PaymentIntent or charge the order recorded; else by the metadata the portal set when it
    created the session (a charge carries it; a refund or dispute leads to it through its
    PaymentIntent, asked from Stripe). Raises EventNotOurs for someone else's payment and
    EventNotReady while the order's payment is not recorded yet.
    """
    order = None
    if payment_intent_id:
        order = Order.objects.filter(stripe_payment_intent_id=payment_intent_id).first()
    if order is None and charge_id:
        order = Order.objects.filter(stripe_charge_id=charge_id).first()
    if order is None:
        order_id = _portal_order_id(metadata)
        if order_id is None and payment_intent_id:
            try:
                intent = stripe_client.payment_intent_retrieve(payment_intent_id).to_dict()
            except stripe.InvalidRequestError as error:
                raise EventNotOurs(
                    f"Stripe does not know PaymentIntent {payment_intent_id}: {error}"
                ) from error
            order_id = _portal_order_id(intent.get("metadata"))
        order = Order.objects.filter(pk=order_id).first() if order_id else None
        if order is None:
            raise EventNotOurs(f"No portal order for charge {charge_id} / PaymentIntent {payment_intent_id}.")
        if (
            order.stripe_payment_intent_id
            and payment_intent_id
            and order.stripe_payment_intent_id != payment_intent_id
        ):
            raise EventNotApplicable(
                f"Order {order.number} was paid by {order.stripe_payment_intent_id}, not {payment_intent_id}."
            )
    if order.status == Order.Status.PENDING:
        raise EventNotReady(f"Order {order.number}: its payment is not recorded yet.", order=order)
    if order.status in selectors.UNPAID_CLOSED_STATUSES:
        raise EventNotApplicable(f"Order {order.number} is {order.status}: it was never paid here.")
    return order


def on_charge_refunded(event: dict, now: datetime) -> None:
    """Refunds made in the Dashboard (or ours, echoed back): the charge's refunds, each once."""
    charge = _object(event)
    order = order_for_payment(
        payment_intent_id=stripe_client.object_id(charge.get("payment_intent")),
        charge_id=charge.get("id"),
        metadata=charge.get("metadata"),
    )
    refunds.charge_refunds_sync(charge=charge, order=order, now=now)


def on_refund_event(event: dict, now: datetime) -> None:
    """refund.created / .updated / .failed and charge.refund.updated: the refund as it is now."""
    refund_object = _object(event)
    order = order_for_payment(
        payment_intent_id=stripe_client.object_id(refund_object.get("payment_intent")),
        charge_id=stripe_client.object_id(refund_object.get("charge")),
        metadata=refund_object.get("metadata"),
    )
    refunds.refund_from_stripe(refund_object=refund_object, order=order, now=now)


def on_dispute_event(event: dict, now: datetime) -> None:
    """charge.dispute.created / .updated / .closed / .funds_withdrawn / .funds_reinstated."""
    dispute = _object(event)
    order = order_for_payment(
        payment_intent_id=stripe_client.object_id(dispute.get("payment_intent")),
        charge_id=stripe_client.object_id(dispute.get("charge")),
        metadata=None,  # a dispute's metadata is its own, never the portal's
    )
    refunds.dispute_from_stripe(
        dispute_object=dispute, event_type=event.get("type", ""), order=order, now=now
    )


def on_payment_intent_payment_failed(event: dict, now: datetime) -> None:
    """Only off-session auto-renewals fail on this: inside Checkout the customer can still try again."""
    intent = _object(event)
    order = Order.objects.filter(stripe_payment_intent_id=intent["id"]).first()
    if order is None:
        order_id = _portal_order_id(intent.get("metadata"))
        order = Order.objects.filter(pk=order_id).first() if order_id else None
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
    "charge.refund.updated": on_refund_event,
    "refund.created": on_refund_event,
    "refund.updated": on_refund_event,
    "refund.failed": on_refund_event,
    "charge.dispute.created": on_dispute_event,
    "charge.dispute.updated": on_dispute_event,
    "charge.dispute.closed": on_dispute_event,
    "charge.dispute.funds_withdrawn": on_dispute_event,
    "charge.dispute.funds_reinstated": on_dispute_event,
    "payment_intent.payment_failed": on_payment_intent_payment_failed,
}


def _refuse_json_constant(name: str):
    raise ValueError(f"The payload holds {name}, which is not JSON.")


def _signed_at(signature: str) -> int | None:
    for item in signature.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def webhook_payload_verify(*, payload: bytes, signature: str | None, secret: str, now: float) -> dict:
    """The event as a plain dict, if Stripe signed it; raises ValueError or SignatureVerificationError.

    stripe-python refuses a signature older than the tolerance; one dated further than the
    tolerance ahead is refused here too (a replay window stretched by a forged future time).
    """
    tolerance = stripe.Webhook.DEFAULT_TOLERANCE
    stripe.WebhookSignature.verify_header(payload.decode("utf-8"), signature, secret, tolerance)
    signed_at = _signed_at(signature or "")
    if signed_at is None or signed_at > now + tolerance:
        raise stripe.SignatureVerificationError(
            "Timestamp outside the tolerance zone (in the future)", signature, payload
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
        and 0 < len(event["id"]) <= cast(int, WebhookEvent._meta.get_field("stripe_event_id").max_length)
        and isinstance(event.get("type", ""), str)
        and len(event.get("type", "")) <= cast(int, WebhookEvent._meta.get_field("type").max_length)
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
        "api_version": settings.STRIPE_API_VERSION,
        "created": int(now.timestamp()),
        "livemode": False,
        "type": event_type,
        "data": {"object": session},
    }
    stored, _created = webhook_event_store(event=event, now=now)
    return stored
