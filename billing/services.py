"""Orders, payment, fulfilment and refunds (DOMAIN.md "Renewal", "Orders and payment").

Every function that changes an order locks its row first and checks its state, so webhook, success
page, reconciler and staff can all call them at the same time: the first one wins, the rest see the
new state and do nothing.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TypedDict, cast

import stripe
from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from billing import stripe_client
from billing.errors import BillingError
from billing.models import (
    AutoRenewal,
    Order,
    Refund,
    StartNowRequest,
    WalletEntry,
    WebhookEvent,
    order_number_for,
)
from billing.presenters import order_plan_name
from billing.selectors import PAID_STATUSES, UNPAID_CLOSED_STATUSES, order_quote, promotion_find
from billing.wallet import wallet_locked, wallet_move, wallet_return_for_order
from notices.services import notice_send
from plans.models import Plan
from plans.selectors import plan_names
from usage.ledger import TopupAlreadyApplied, card_topup
from usage.models import Card
from usage.services import esim_allocate

logger = logging.getLogger(__name__)

Status = Order.Status

ORDER_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.PENDING: frozenset({Status.PAID, Status.FAILED, Status.EXPIRED, Status.CANCELLED}),
    Status.PAID: frozenset({Status.FULFILLED, Status.REFUNDED, Status.PARTIALLY_REFUNDED, Status.DISPUTED}),
    Status.FULFILLED: frozenset({Status.REFUNDED, Status.PARTIALLY_REFUNDED, Status.DISPUTED}),
    # A second partial refund that completes the amount; a dispute; a refund that failed after it
    # had succeeded (back to what the order was without it).
    Status.PARTIALLY_REFUNDED: frozenset({Status.REFUNDED, Status.DISPUTED, Status.FULFILLED, Status.PAID}),
    Status.REFUNDED: frozenset({Status.DISPUTED, Status.PARTIALLY_REFUNDED, Status.FULFILLED, Status.PAID}),
    Status.FAILED: frozenset(),
    Status.EXPIRED: frozenset(),
    Status.CANCELLED: frozenset(),
    # The dispute closed: won, back to what it was; lost, refunded as a refund would be; or the
    # payment was refunded in full while it was open.
    Status.DISPUTED: frozenset({Status.PAID, Status.FULFILLED, Status.PARTIALLY_REFUNDED, Status.REFUNDED}),
}

PAYMENT_METHOD_WALLET = "wallet"
PAYMENT_METHOD_FREE = "promotion"
PAYMENT_METHOD_DEMO = "demo"


class OrderTransitionRefused(BillingError):
    pass


class CheckoutUnavailable(BillingError):
    pass


class PaymentMismatch(BillingError):
    """Stripe reports a payment that does not match the order: flagged for support, never fulfilled."""


class FulfilmentNotReady(BillingError):
    """The order is not paid yet; a later call (webhook, reconciler) will fulfil it."""


# --- State -------------------------------------------------------------------------------------


def order_transition(*, order: Order, to: str, now: datetime, save_also: Sequence[str] = ()) -> Order:
    """Move a (locked) order to `to` if DOMAIN.md allows it; anything else is refused and logged.

    `save_also`: fields the caller changed on the order, saved in the same UPDATE.
    """
    fields = _transition_set(order=order, to=to, now=now)
    order.save(update_fields=list(dict.fromkeys([*fields, *save_also])))
    return order


def _transition_set(*, order: Order, to: str, now: datetime) -> list[str]:
    """order_transition without the save: the order moved in memory, and the fields to save."""
    current = order.status
    if to not in ORDER_TRANSITIONS.get(current, frozenset()):
        logger.warning("Order %s: refused transition %s -> %s", order.number or order.pk, current, to)
        raise OrderTransitionRefused(f"Order {order.number or order.pk} cannot go from {current} to {to}.")
    order.status = to
    fields = ["status"]
    if to == Status.PAID and order.paid_at is None:
        order.paid_at = now
        fields.append("paid_at")
    elif to == Status.FULFILLED and order.fulfilled_at is None:
        order.fulfilled_at = now
        fields.append("fulfilled_at")
    elif to in UNPAID_CLOSED_STATUSES:
        order.closed_at = now
        fields.append("closed_at")
    logger.info("Order %s: %s -> %s", order.number or order.pk, current, to)
    return fields


def _lock(order_id: int) -> Order:
    return Order.objects.select_for_update().get(pk=order_id)


def _flag(*, order: Order, now: datetime, error: str, reason: str) -> None:
    logger.error("Order %s flagged for support (%s): %s", order.number or order.pk, reason, error)
    order.flagged_at = order.flagged_at or now
    order.flag_reason = reason
    order.last_error = error
    order.save(update_fields=["flagged_at", "flag_reason", "last_error"])


def order_settled_status(*, order: Order) -> str:
    """What a paid order's status is, from what has happened to it (in whatever order it was told):
    disputed while a dispute is open (unless refunded in full besides); else refunded in full or
    in part; else renewed or not yet. Refunds count when they have succeeded (billing.refunds)."""
    if order.disputes.filter(closed_at__isnull=True).exists():
        # Refunded in full besides the open dispute's own withdrawal, there is nothing left to
        # dispute (Stripe withdraws no more); else the dispute is what the order is waiting for.
        refunded = (
            order.refunds.filter(status=Refund.Status.SUCCEEDED)
            .exclude(source=Refund.Source.DISPUTE)
            .aggregate(total=Sum("amount_cents"))["total"]
        )
        return (
            Status.REFUNDED
            if order.paid_cents > 0 and (refunded or 0) >= order.paid_cents
            else Status.DISPUTED
        )
    if order.paid_cents > 0 and order.refunded_amount_cents >= order.paid_cents:
        return Status.REFUNDED
    if order.refunded_amount_cents > 0:
        return Status.PARTIALLY_REFUNDED
    return Status.FULFILLED if order.fulfilled_at is not None else Status.PAID


def order_status_settle(*, order: Order, now: datetime, save_also: Sequence[str] = ()) -> Order:
    """Bring a (locked) paid order's status in line with its refunds and disputes, through the
    transition table; an order left paid and not renewed yet (a dispute won before the renewal)
    is queued for renewal. `save_also`: fields the caller changed, saved in the same UPDATE."""
    if order.status not in PAID_STATUSES:
        if save_also:
            order.save(update_fields=list(save_also))
        return order
    target = order_settled_status(order=order)
    if target != order.status:
        order_transition(order=order, to=target, now=now, save_also=save_also)
    elif save_also:
        order.save(update_fields=list(save_also))
    if order.fulfilled_at is None and order.status in (Status.PAID, Status.PARTIALLY_REFUNDED):
        _enqueue_fulfilment(order.pk)
    return order


# --- Orders ------------------------------------------------------------------------------------


def order_create(
    *,
    user: User,
    plan: Plan,
    card: Card | None,
    now: datetime,
    promo_code: str = "",
    apply_wallet: bool = False,
    origin: str = Order.Origin.CUSTOMER,
    save_payment_method: bool = False,
    start_now_text: str = "",
    start_now_language: str = "",
) -> Order:
    """A pending order priced from the server's plan; paid at once if credit and discount cover it.

    Raises BillingError or PromotionInvalid (with a message for the customer) and creates nothing.
    `start_now_text` is the wording of the customer's request to start at once (billing.withdrawal),
    kept with the order.
    """
    if not plan.is_active:
        raise BillingError(_("This plan is no longer on sale. Please choose another one."))
    if card is not None and card.owner_id != user.pk:
        raise BillingError(_("This card is not on your account."))
    if card is not None and card.suspended_at is not None:
        raise BillingError(_("This card is suspended. Please contact support."))

    with transaction.atomic():
        promotion = None
        if promo_code.strip():
            # Locked, so two customers racing for the last redemption cannot both get it.
            promotion = promotion_find(code=promo_code, plan=plan, user=user, now=now, lock=True)
        if apply_wallet:
            wallet_locked(user=user)
        quote = order_quote(
            user=user, plan=plan, card=card, promotion=promotion, apply_wallet=apply_wallet, now=now
        )
        order = Order.objects.create(
            customer=user,
            card=card,
            new_esim=card is None,
            origin=origin,
            language=user.language or settings.LANGUAGE_CODE,
            plan=plan,
            plan_code=plan.code,
            plan_name=getattr(plan, f"name_{settings.LANGUAGE_CODE}", None) or plan.name,
            plan_names=plan_names(plan),
            plan_period=plan.period,
            plan_duration_seconds=int(plan.duration.total_seconds()),
            plan_data_bytes=plan.data_bytes,
            list_price_cents=quote.list_price_cents,
            vat_rate_bp=plan.vat_rate_bp,
            promotion=promotion,
            promotion_code=promotion.code if promotion else "",
            discount_cents=quote.discount_cents,
            bonus_bytes=quote.bonus_bytes,
            wallet_applied_cents=quote.wallet_applied_cents,
            amount_charged_cents=quote.amount_charged_cents,
            currency=plan.currency,
            save_payment_method=save_payment_method,
            customer_email=user.email or "",
            customer_phone=user.phone or "",
            created_at=now,
        )
        order.number = order_number_for(order_id=order.pk, year=now.year)
        order.save(update_fields=["number"])
        if start_now_text:
            StartNowRequest.objects.create(
                order=order,
                language=start_now_language or order.language,
                text=start_now_text,
                requested_at=now,
            )
        if order.wallet_applied_cents:
            wallet_move(
                user=user,
                amount_cents=-order.wallet_applied_cents,
                kind=WalletEntry.Kind.ORDER_PAYMENT,
                now=now,
                order=order,
            )
        if order.amount_charged_cents == 0:
            order.payment_method_type = (
                PAYMENT_METHOD_WALLET if order.wallet_applied_cents else PAYMENT_METHOD_FREE
            )
            order.save(update_fields=["payment_method_type"])
            order_transition(order=order, to=Status.PAID, now=now)
            _enqueue_fulfilment(order.pk)
    logger.info("Order %s created: %s for %s cents", order.number, plan.code, order.amount_charged_cents)
    return order


def stripe_customers_of(*, user: User) -> set[str]:
    """Every Stripe customer created for this user (orders and auto-renewals name them)."""
    from_orders = Order.objects.filter(customer=user).exclude(stripe_customer_id="")
    from_renewals = AutoRenewal.objects.filter(user=user).exclude(stripe_customer_id="")
    return set(from_orders.values_list("stripe_customer_id", flat=True)) | set(
        from_renewals.values_list("stripe_customer_id", flat=True)
    )


def customer_data_erase(*, user: User) -> None:
    """The customer deletes their account: billing keeps its records and forgets the person.

    Orders stay (finance must keep them) without their copy of the email and phone; auto-renewals
    (with their saved payment methods) are removed so nothing is charged again; the Stripe
    customers, which hold the email, phone and saved methods, are deleted there once this commits
    (payments stay on record at Stripe, as the orders do here).
    """
    from billing.tasks import stripe_customer_delete_task  # tasks import this module

    if not settings.PAYMENTS_DEMO_MODE:
        for customer_id in sorted(stripe_customers_of(user=user)):
            transaction.on_commit(partial(stripe_customer_delete_task.delay, customer_id))
    AutoRenewal.objects.filter(user=user).delete()
    Order.objects.filter(customer=user).update(customer_email="", customer_phone="")


def _stripe_customer_for(*, user: User, order: Order) -> str:
    known = (
        Order.objects.filter(customer=user)
        .exclude(stripe_customer_id="")
        .values_list("stripe_customer_id", flat=True)
        .first()
        or AutoRenewal.objects.filter(user=user)
        .exclude(stripe_customer_id="")
        .values_list("stripe_customer_id", flat=True)
        .first()
    )
    return known or stripe_client.customer_create(user=user, order=order)


def checkout_start(
    *, order: Order, success_url: str, cancel_url: str, now: datetime, demo_url: str | None = None
) -> str:
    """Where to send the customer to pay: Stripe Checkout, or the local demo page without Stripe keys.

    An order made through a renew link is paid by whoever holds the link: Checkout gets no Stripe
    customer (no saved payment method on offer) and no prefilled email (the owner's is not theirs).
    """
    if order.status != Status.PENDING:
        raise BillingError(_("This order is not waiting for payment."))
    if order.checkout_url and order.stripe_checkout_session_id:
        return order.checkout_url
    if settings.PAYMENTS_DEMO_MODE:
        order.stripe_checkout_session_id = f"cs_demo_{order.pk}"
        order.checkout_url = demo_url or reverse("billing:demo_checkout", args=[order.number])
        order.checkout_started_at = now
        order.save(update_fields=["stripe_checkout_session_id", "checkout_url", "checkout_started_at"])
        return order.checkout_url
    try:
        if not order.stripe_customer_id and order.customer_id and order.renew_link_id is None:
            order.stripe_customer_id = _stripe_customer_for(user=cast(User, order.customer), order=order)
            # Kept even if the session below fails: the next order reuses this customer.
            order.save(update_fields=["stripe_customer_id"])
        session = stripe_client.checkout_session_create(
            order=order, success_url=success_url, cancel_url=cancel_url
        )
    except stripe.StripeError as error:
        logger.warning("Order %s: Checkout Session not created: %s", order.number, error)
        order_close(
            order_id=order.pk, to=Status.FAILED, now=now, reason=f"Checkout Session not created: {error}"
        )
        raise CheckoutUnavailable(
            _("The payment service did not answer. Nothing was charged; please try again in a minute.")
        ) from error
    order.stripe_checkout_session_id = session.id
    order.checkout_url = session.url or ""
    order.checkout_started_at = now
    order.save(update_fields=["stripe_checkout_session_id", "checkout_url", "checkout_started_at"])
    return order.checkout_url


def order_mark_paid(
    *,
    order_id: int,
    paid_at: datetime,
    now: datetime,
    payment_intent_id: str | None = None,
    customer_id: str | None = None,
    amount_cents: int | None = None,
    currency: str | None = None,
    payment_method_type: str = "",
    fulfil_in_background: bool = True,
) -> Order:
    """Stripe (or the wallet) says the order is paid: record it and queue the renewal once.

    A caller already in a worker may pass fulfil_in_background=False and renew itself right away
    (see billing.webhooks); it then queues the fulfilment task only if that fails.
    """
    with transaction.atomic():
        order = _lock(order_id)
        if order.status in PAID_STATUSES:
            return order  # a repeat, or the other trigger won the race
        mismatch = _payment_mismatch(order=order, amount_cents=amount_cents, currency=currency)
        if mismatch:
            # Committed with the block (raising inside it would roll the flag back).
            _flag(order=order, now=now, error=mismatch, reason=Order.FlagReason.PAYMENT_MISMATCH)
        else:
            fields = _payment_fields_set(
                order=order,
                paid_at=paid_at,
                now=now,
                payment_intent_id=payment_intent_id,
                customer_id=customer_id,
                payment_method_type=payment_method_type,
            )
            order_transition(order=order, to=Status.PAID, now=now, save_also=fields)
            if fulfil_in_background:
                _enqueue_fulfilment(order.pk)
            if order.stripe_payment_intent_id and not settings.PAYMENTS_DEMO_MODE:
                _enqueue_payment_details(order.pk)
            # Refunds or disputes that arrived before the payment was recorded can apply now.
            _enqueue_waiting_events(order.pk)
    if mismatch:
        raise PaymentMismatch(mismatch)
    return order


def _payment_mismatch(*, order: Order, amount_cents: int | None, currency: str | None) -> str:
    """Why a payment reported for this (locked, not yet paid) order cannot be taken as its payment."""
    if order.status != Status.PENDING:
        return f"Payment received for an order that is {order.status}."
    if amount_cents is not None and (
        amount_cents != order.amount_charged_cents or (currency or "").upper() != order.currency.upper()
    ):
        return f"Stripe reports {amount_cents} {currency}; the order is {order.amount_charged_cents} {order.currency}."
    return ""


def _payment_fields_set(
    *,
    order: Order,
    paid_at: datetime,
    now: datetime,
    payment_intent_id: str | None,
    customer_id: str | None,
    payment_method_type: str,
) -> list[str]:
    """Write the payment onto the (locked) order in memory; the fields to save with its status."""
    fields = ["paid_at"]
    order.paid_at = min(paid_at, now)
    if payment_intent_id and not order.stripe_payment_intent_id:
        order.stripe_payment_intent_id = payment_intent_id
        fields.append("stripe_payment_intent_id")
    if customer_id and not order.stripe_customer_id:
        order.stripe_customer_id = customer_id
        fields.append("stripe_customer_id")
    if payment_method_type and not order.payment_method_type:
        order.payment_method_type = payment_method_type
        fields.append("payment_method_type")
    return fields


def order_pay_and_renew(
    *,
    order: Order,
    paid_at: datetime,
    now: datetime,
    payment_intent_id: str | None = None,
    customer_id: str | None = None,
    amount_cents: int | None = None,
    currency: str | None = None,
    payment_method_type: str = "",
) -> Order | None:
    """A worker is told the order is paid (billing.webhooks): record the payment and renew the card
    in one locked transaction, the common case (one lock of the order, one UPDATE of it, one commit,
    where order_mark_paid then order_fulfil take two of each). `order`: as read, not locked.

    Returns None, having changed nothing, when the order needs the two-step way (order_mark_paid,
    then order_fulfil): it is not pending (a repeat, or closed unpaid), Stripe reports another
    amount (order_mark_paid flags it), or events wait for this payment (refunds or disputes told
    first apply before the renewal, as order_mark_paid queues them). Anything raised rolls back
    the payment and the renewal together, so a retry finds the order as it was.
    """
    if _payment_mismatch(order=order, amount_cents=amount_cents, currency=currency):
        return None  # no Stripe call for a repeat: the two-step way sees it and does nothing
    details = None
    if payment_intent_id and not payment_method_type and not settings.PAYMENTS_DEMO_MODE:
        # The confirmation names the method used: asked from Stripe before any lock is held. If
        # Stripe does not answer, the renewal goes ahead without it (as _payment_details_before_renewal).
        try:
            details = _payment_details_retrieve(payment_intent_id)
        except stripe.StripeError as error:
            logger.warning("Order %s: payment method not known before renewal: %s", order.number, error)
    with transaction.atomic():
        order = _lock_for_renewal(order.pk)
        if _payment_mismatch(order=order, amount_cents=amount_cents, currency=currency):
            return None
        # Asked once the order is locked: an event that starts waiting for this payment saves its
        # link under the same lock (billing.webhooks._wait), so it is either seen here or sees the
        # order paid and runs again.
        if WebhookEvent.objects.filter(order_id=order.pk, processed_at__isnull=True).exists():
            return None
        fields = _payment_fields_set(
            order=order,
            paid_at=paid_at,
            now=now,
            payment_intent_id=payment_intent_id,
            customer_id=customer_id,
            payment_method_type=payment_method_type,
        )
        if details is not None:
            fields += _payment_details_set(order=order, details=details)
        # Pending -> paid in memory; saved with the renewal's own fields and status in one UPDATE.
        fields += _transition_set(order=order, to=Status.PAID, now=now)
        card = _order_renew(order=order, now=now, save_also=fields, paid_here=True)
        if order.stripe_payment_intent_id and not settings.PAYMENTS_DEMO_MODE:
            # The method saved for auto-renewal, and what Stripe did not answer just now.
            _enqueue_payment_details(order.pk)
    if card is not None:
        logger.info("Order %s fulfilled: card %s valid until %s", order.number, card.pk, card.expires_at)
    return order


def order_close(*, order_id: int, to: str, now: datetime, reason: str = "") -> Order:
    """Pending → failed, expired or cancelled, giving back any wallet credit. Repeats change nothing."""
    with transaction.atomic():
        order = _lock(order_id)
        if order.status != Status.PENDING:
            return order
        order_transition(order=order, to=to, now=now)
        if reason:
            order.last_error = reason
            order.save(update_fields=["last_error"])
        wallet_return_for_order(order=order, now=now)
    return order


def order_cancel(*, order: Order, now: datetime) -> Order:
    """The customer gave up on paying. A Stripe session is expired first, so it cannot be paid later."""
    if order.status != Status.PENDING:
        return order
    session_id = order.stripe_checkout_session_id
    if session_id and not session_id.startswith("cs_demo_") and not settings.PAYMENTS_DEMO_MODE:
        try:
            stripe_client.checkout_session_expire(session_id)
        except stripe.InvalidRequestError:
            # Already complete or expired: Stripe knows better than we do, ask it.
            checkout_session_sync(order_id=order.pk, now=now)
            order.refresh_from_db()
            return order
    return order_close(order_id=order.pk, to=Status.CANCELLED, now=now)


def checkout_session_sync(*, order_id: int, now: datetime) -> Order:
    """Stripe's recommended check on return: retrieve the session and fulfil if it is paid."""
    order = Order.objects.get(pk=order_id)
    session_id = order.stripe_checkout_session_id
    if order.status != Status.PENDING or not session_id or session_id.startswith("cs_demo_"):
        return order
    session = stripe_client.checkout_session_retrieve(session_id)
    return checkout_session_apply(session=session.to_dict(), now=now, paid_at=now)


def checkout_session_apply(
    *, session: dict, now: datetime, paid_at: datetime, fulfil_in_background: bool = True
) -> Order:
    """Bring the order in line with a Checkout Session object (from a webhook or a retrieve)."""
    order = _order_for_session(session)
    if session.get("payment_status") == "paid":
        return order_mark_paid(
            order_id=order.pk,
            paid_at=paid_at,
            now=now,
            fulfil_in_background=fulfil_in_background,
            **checkout_session_payment(session),
        )
    if session.get("status") == "expired":
        return order_close(order_id=order.pk, to=Status.EXPIRED, now=now)
    return order


class SessionPayment(TypedDict):
    payment_intent_id: str | None
    customer_id: str | None
    amount_cents: int | None
    currency: str | None
    payment_method_type: str


def checkout_session_payment(session: dict) -> SessionPayment:
    """The payment a paid Checkout Session reports, as order_mark_paid and order_pay_and_renew take it."""
    return {
        "payment_intent_id": stripe_client.object_id(session.get("payment_intent")),
        "customer_id": stripe_client.object_id(session.get("customer")),
        "amount_cents": session.get("amount_total"),
        "currency": session.get("currency"),
        "payment_method_type": PAYMENT_METHOD_DEMO if session["id"].startswith("cs_demo_") else "",
    }


def _order_for_session(session: dict) -> Order:
    order = Order.objects.filter(stripe_checkout_session_id=session["id"]).first()
    if order is None:
        reference = session.get("client_reference_id") or (session.get("metadata") or {}).get("order_id")
        order = (
            Order.objects.filter(pk=int(str(reference))).first() if str(reference or "").isdigit() else None
        )
        if order is not None and order.stripe_checkout_session_id not in (None, session["id"]):
            order = None  # a session this order abandoned: its own session decides
    if order is None:
        raise Order.DoesNotExist(f"No order for Checkout Session {session['id']}.")
    return order


def _enqueue_fulfilment(order_id: int) -> None:
    from billing.tasks import order_fulfil_task  # tasks import this module

    transaction.on_commit(lambda: order_fulfil_task.delay(order_id))


def _enqueue_payment_details(order_id: int) -> None:
    from billing.tasks import order_payment_details_task  # tasks import this module

    transaction.on_commit(lambda: order_payment_details_task.delay(order_id))


def _enqueue_waiting_events(order_id: int) -> None:
    from billing.tasks import webhook_event_process_task  # tasks import this module

    def enqueue() -> None:
        for event_id in WebhookEvent.objects.filter(order_id=order_id, processed_at__isnull=True).values_list(
            "pk", flat=True
        ):
            webhook_event_process_task.delay(event_id)

    transaction.on_commit(enqueue)


# --- Fulfilment --------------------------------------------------------------------------------


def order_fulfil(*, order_id: int, now: datetime, paid_order: Order | None = None) -> Order:
    """DOMAIN.md "Renewal", exactly once per paid order however many callers race here.

    An order partly refunded before it was renewed is still renewed, and the refunded share
    taken back at once, as if the renewal had come first; one refunded in full or disputed is not.
    `paid_order`: the order as the caller has just marked it paid (the webhook worker), which
    spares reading it again to see whether Stripe must be asked for its payment method.
    """
    _payment_details_before_renewal(order_id=order_id, now=now, paid_order=paid_order)
    with transaction.atomic():
        order = _lock_for_renewal(order_id)
        if order.fulfilled_at is not None:
            return order
        if order.status == Status.PENDING:
            raise FulfilmentNotReady(f"Order {order.number} is not paid yet.")
        if order.status not in (Status.PAID, Status.PARTIALLY_REFUNDED):
            logger.info("Order %s is %s: nothing to renew.", order.number, order.status)
            return order
        card = _order_renew(order=order, now=now)
    if card is not None:
        logger.info("Order %s fulfilled: card %s valid until %s", order.number, card.pk, card.expires_at)
    return order


def _lock_for_renewal(order_id: int) -> Order:
    # The customer and the plan come with the order (for the confirmation); only the order is locked.
    return Order.objects.select_for_update(of=("self",)).select_related("customer", "plan").get(pk=order_id)


def _order_renew(
    *, order: Order, now: datetime, save_also: Sequence[str] = (), paid_here: bool = False
) -> Card | None:
    """Renew the card of a locked paid order not renewed yet: top-up, order fulfilled (with
    `save_also`, fields the caller changed, in the same UPDATE), confirmation. The card renewed, or
    None if the order was flagged for support instead.

    `paid_here`: the order was pending when this transaction locked it, so no refund or dispute can
    be recorded against it (they wait for the payment, billing.webhooks.order_for_payment): renewed,
    it is fulfilled, with no need to ask."""
    from billing.refunds import order_refunds_reverse_after_fulfilment  # refunds builds on this module

    changed = list(save_also)
    if order.card_id is None:
        if order.customer_id is None:
            if changed:
                order.save(update_fields=changed)
            _flag(
                order=order,
                now=now,
                error="Paid new-eSIM order without a customer.",
                reason=Order.FlagReason.FULFILMENT,
            )
            return None
        order.card = esim_allocate(user=cast(User, order.customer))  # customer_id checked above
        changed.append("card")
    card = Card.objects.select_for_update().get(pk=cast(int, order.card_id))
    try:
        card_topup(
            card=card,
            allowance_bytes=order.total_bytes,
            duration=order.duration,
            start=cast(datetime, order.paid_at),  # a paid order has its time of payment
            order_id=order.pk,
            now=now,
        )
    except TopupAlreadyApplied:
        logger.warning("Order %s: the ledger already had its top-up.", order.number)
    order.fulfilled_at = now
    changed.append("fulfilled_at")
    if order.refunded_amount_cents:
        order.save(update_fields=list(dict.fromkeys(changed)))
        changed = []
        order_refunds_reverse_after_fulfilment(order=order, now=now)
        card.refresh_from_db()  # the reversal wrote through a card row of its own
    if order.last_error and order.flag_reason in (Order.FlagReason.STUCK, Order.FlagReason.FULFILMENT):
        order.last_error = ""
        changed.append("last_error")
    # One UPDATE for the renewal's fields and the status it leads to.
    if paid_here:
        order_transition(order=order, to=Status.FULFILLED, now=now, save_also=list(dict.fromkeys(changed)))
    else:
        order_status_settle(order=order, now=now, save_also=list(dict.fromkeys(changed)))
    if order.origin == Order.Origin.AUTO_RENEWAL:
        AutoRenewal.objects.filter(card_id=card.pk).update(
            last_attempt_state=AutoRenewal.AttemptState.SUCCEEDED, last_order=order, updated_at=now
        )
    renewal_confirmation_send(order=order, card=card)
    return card


def _payment_details_before_renewal(*, order_id: int, now: datetime, paid_order: Order | None = None) -> None:
    """The confirmation names the method actually used, so ask Stripe for it before renewing (no
    lock held meanwhile). If Stripe does not answer, the renewal goes ahead without it."""
    if paid_order is not None and paid_order.pk == order_id:
        order = paid_order if paid_order.fulfilled_at is None else None
    else:
        order = Order.objects.filter(pk=order_id, fulfilled_at__isnull=True).first()
    if order is None or order.payment_method_type or not order.stripe_payment_intent_id:
        return
    if settings.PAYMENTS_DEMO_MODE:
        return
    try:
        order_payment_details_fetch(order_id=order_id, now=now)
    except stripe.StripeError as error:
        logger.warning("Order %s: payment method not known before renewal: %s", order.number, error)


def renewal_confirmation_send(*, order: Order, card: Card) -> None:
    """One confirmation per channel the customer chose; the notice log keeps it to once."""
    customer = order.customer
    if customer is None or customer.anonymised_at:
        return
    plan_name = order_plan_name(order, customer.language or settings.LANGUAGE_CODE).text
    notice_send(
        user=customer,
        kind="renewal_confirmation",
        key=f"order:{order.pk}",
        context={
            "order_number": order.number,
            "plan_name": plan_name,
            "card_name": card.label or card.iccid,
            "card_label": card.label,
            "iccid": card.iccid,
            "data_added_bytes": order.total_bytes,
            "data_remaining_bytes": card.data_remaining,
            "expires_at": card.expires_at.isoformat() if card.expires_at else None,
            "paid_cents": order.paid_cents,
            "charged_cents": order.amount_charged_cents,
            "wallet_cents": order.wallet_applied_cents,
            "currency": order.currency,
            "payment_method": order.payment_method_type,
            "receipt_url": settings.SITE_URL + reverse("billing:receipt", args=[order.number]),
            "status_url": settings.SITE_URL + reverse("billing:order_status", args=[order.number]),
            # No carrier link configured: the network is updated separately (usage.provisioning).
            "network_separate": not settings.CARRIER_PROVISIONING_URL,
            "new_esim": order.new_esim,
            "esim_url": settings.SITE_URL + reverse("usage:card_esim", args=[card.pk])
            if order.new_esim
            else "",
            # Short links keep a text message to one segment (sms/renewal_confirmation.txt).
            "receipt_short_url": settings.SITE_URL + reverse("billing:receipt_short", args=[order.number]),
            "esim_short_url": settings.SITE_URL + reverse("usage:card_esim_short", args=[card.pk])
            if order.new_esim
            else "",
        },
    )


@dataclass(frozen=True)
class PaymentDetails:
    """What Stripe says about a PaymentIntent: its charge, the method used, the Stripe customer."""

    charge_id: str
    method_type: str
    customer_id: str | None
    method: dict


def _payment_details_retrieve(payment_intent_id: str) -> PaymentDetails:
    intent = stripe_client.payment_intent_retrieve(payment_intent_id).to_dict()
    latest_charge, payment_method = intent.get("latest_charge"), intent.get("payment_method")
    charge: dict = latest_charge if isinstance(latest_charge, dict) else {}
    method: dict = payment_method if isinstance(payment_method, dict) else {}
    details = charge.get("payment_method_details") or {}
    method_type = details.get("type") or method.get("type") or ""
    wallet_type = ((details.get("card") or {}).get("wallet") or {}).get("type")
    if method_type == "card" and wallet_type in ("apple_pay", "google_pay"):
        method_type = wallet_type
    return PaymentDetails(
        charge_id=charge.get("id") or "",
        method_type=method_type,
        customer_id=stripe_client.object_id(intent.get("customer")),
        method=method,
    )


def _payment_details_set(*, order: Order, details: PaymentDetails) -> list[str]:
    """Write what the order does not know yet onto the (locked) order in memory; the fields to save."""
    fields = []
    if details.charge_id and not order.stripe_charge_id:
        order.stripe_charge_id = details.charge_id
        fields.append("stripe_charge_id")
    if details.method_type and not order.payment_method_type:
        order.payment_method_type = details.method_type
        fields.append("payment_method_type")
    if details.customer_id and not order.stripe_customer_id:
        order.stripe_customer_id = details.customer_id
        fields.append("stripe_customer_id")
    return fields


def order_payment_details_fetch(*, order_id: int, now: datetime) -> Order:
    """After payment: charge id and method from Stripe, and the method saved for auto-renewal."""
    order = Order.objects.get(pk=order_id)
    if not order.stripe_payment_intent_id or order.payment_method_type == PAYMENT_METHOD_DEMO:
        return order
    if order.stripe_charge_id and order.payment_method_type and not order.save_payment_method:
        return order  # fetched already (the renewal asks before it confirms; this task may follow)
    details = _payment_details_retrieve(order.stripe_payment_intent_id)
    method, customer_id = details.method, details.customer_id
    with transaction.atomic():
        order = _lock(order_id)
        fields = _payment_details_set(order=order, details=details)
        if fields:
            order.save(update_fields=fields)
        saved = (
            method.get("id")
            and customer_id
            and stripe_client.object_id(method.get("customer")) == customer_id
        )
        if (
            order.save_payment_method
            and saved
            and customer_id
            and method.get("type") in ("card", "paypal")
            and order.card_id
        ):
            from billing.autorenew import auto_renewal_save_method  # autorenew imports this module

            auto_renewal_save_method(
                card_id=order.card_id, customer_id=customer_id, payment_method=method, now=now
            )
    return order
