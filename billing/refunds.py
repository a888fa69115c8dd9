"""Refunds and disputes (DOMAIN.md "Refunds", issue 10).

The rule: **a refund counts when it has succeeded.** A refund is written down when it is asked for
(staff) or first heard of (Stripe), with Stripe's status. Only `refund_status_apply` moves it to
`succeeded` — that is where it takes effect: the order's refunded amount, wallet credit, and the
refunded share of the top-up taken back from the card — or undoes it when a succeeded refund
fails later (the card and the order get back exactly what it took). A refund that fails or is
cancelled before it succeeded changed nothing, so nothing is undone; it is flagged for support.

Why not take the data back at once and give it back on failure: the customer keeps what they paid
for until their money is actually on its way back; a refund that fails (closed card, bank refusal)
never leaves them with neither the money nor the data, not even for the days a bank takes to
refuse; and nothing has to be given back to a card that may have expired meanwhile.

A lost dispute (or the funds Stripe withdrew for one) is money back to the customer too: it is
written as a refund from the dispute and goes through the same place; funds reinstated (a won
dispute) undo it.

Every function here locks the order row first (then the card), so webhooks, workers and staff can
all call them at once, in any order, as often as Stripe repeats itself.
"""

import logging
from datetime import datetime, timedelta
from typing import cast

import stripe
from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from billing import stripe_client
from billing.errors import BillingError
from billing.invoicing import credit_note_issue
from billing.models import Dispute, Order, Refund, WalletEntry, Withdrawal
from billing.presenters import order_plan_name
from billing.services import PAYMENT_METHOD_DEMO, _flag, _lock, order_status_settle
from billing.wallet import wallet_move
from notices.services import notice_send
from usage.ledger import card_restore_reversal, card_reverse_topup
from usage.models import Card

logger = logging.getLogger(__name__)

Status = Order.Status
RefundStatus = Refund.Status

# How far along a refund is: Stripe never moves one back, so an older report is ignored.
_PROGRESS = {
    RefundStatus.REQUESTED: 0,
    RefundStatus.PENDING: 1,
    RefundStatus.REQUIRES_ACTION: 1,
    RefundStatus.SUCCEEDED: 2,
    RefundStatus.FAILED: 3,
    RefundStatus.CANCELED: 3,
}
REFUNDABLE_STATUSES = (Status.PAID, Status.FULFILLED, Status.PARTIALLY_REFUNDED, Status.DISPUTED)


class RefundRefused(BillingError):
    """Refused; `refund` is the refund written down before Stripe refused it (or did not answer)."""

    def __init__(self, message: str | Promise, *, refund: Refund | None = None) -> None:
        super().__init__(message)
        self.refund = refund


# --- What can still be refunded ------------------------------------------------------------------


def order_refund_held_cents(*, order: Order, destination: str | None = None) -> int:
    """Refunds that count or may still count: succeeded, and asked for but not settled."""
    refunds = order.refunds.filter(
        status__in=(
            RefundStatus.SUCCEEDED,
            RefundStatus.REQUESTED,
            RefundStatus.PENDING,
            RefundStatus.REQUIRES_ACTION,
        )
    )
    if destination is not None:
        refunds = refunds.filter(destination=destination)
    return refunds.aggregate(total=Sum("amount_cents"))["total"] or 0


def order_refundable_cents(*, order: Order) -> int:
    """What a new refund may still give back: paid, less what succeeded or is on its way."""
    return max(order.paid_cents - order_refund_held_cents(order=order), 0)


def order_refund_blocker(*, order: Order, destination: str | None = None) -> str | None:
    """Why a refund of this order would be refused now, or None when it can succeed.

    The admin offers the Refund button exactly when this is None; the service refuses with the
    same message, so the two can never disagree.
    """
    if order.status not in REFUNDABLE_STATUSES:
        return str(_("Only a paid order can be refunded."))
    open_disputes = list(order.disputes.filter(closed_at__isnull=True))
    if any(not dispute.is_charge_refundable for dispute in open_disputes):
        return str(
            _(
                "The customer's bank is disputing this payment; it cannot be refunded until the dispute is closed."
            )
        )
    if open_disputes and destination == Refund.Destination.WALLET:
        return str(
            _("While the payment is disputed, refund it to the original method: the bank may return it too.")
        )
    if order_refundable_cents(order=order) <= 0:
        return str(_("Everything paid for this order has been refunded or is being refunded."))
    return None


def _effective_cents(order: Order) -> int:
    """What the order has given back: succeeded refunds, never more than was paid."""
    total = order.refunds.filter(status=RefundStatus.SUCCEEDED).aggregate(total=Sum("amount_cents"))["total"]
    return min(total or 0, order.paid_cents)


# --- The one place where a refund takes effect or is undone ------------------------------------


def refund_status_apply(*, refund_id: int, status: str, now: datetime, failure_reason: str = "") -> Refund:
    """Move a refund to `status` as Stripe (or the wallet) reports it; older reports are ignored.

    → succeeded: the refund takes effect (`_refund_take_effect`).
    succeeded → failed or canceled: it is undone (`_refund_undo`) and the order flagged.
    pending → failed or canceled: nothing had changed; the order is flagged for support.
    """
    if status not in _PROGRESS:
        raise BillingError(f"Unknown refund status {status!r}.")
    with transaction.atomic():
        refund = Refund.objects.get(pk=refund_id)
        order = _lock(refund.order_id)
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        current = refund.status
        progress, known = _PROGRESS[RefundStatus(status)], _PROGRESS[RefundStatus(current)]
        if status == current or progress < known or known == 3:
            return refund  # a repeat, a report older than what we know, or already settled for good
        refund.status = status
        fields = ["status"]
        if status == RefundStatus.SUCCEEDED:
            refund.succeeded_at = now
            fields.append("succeeded_at")
            refund.save(update_fields=fields)
            _refund_take_effect(order=order, refund=refund, now=now)
            _refund_notify(order=order, refund=refund, kind="refund_succeeded")
        elif status in (RefundStatus.FAILED, RefundStatus.CANCELED):
            refund.failed_at = now
            refund.failure_reason = (failure_reason or "")[:100]
            fields += ["failed_at", "failure_reason"]
            refund.save(update_fields=fields)
            if current == RefundStatus.SUCCEEDED:
                _refund_undo(order=order, refund=refund, now=now)
            if refund.source != Refund.Source.DISPUTE:
                _flag(
                    order=order,
                    now=now,
                    reason=Order.FlagReason.REFUND,
                    error=f"Refund {refund.stripe_refund_id or refund.pk} of {refund.amount_cents} "
                    f"{refund.currency} {status}: {failure_reason or 'no reason given'}.",
                )
                _refund_notify(order=order, refund=refund, kind="refund_failed")
        else:
            refund.save(update_fields=fields)
        order_status_settle(order=order, now=now)
    logger.info("Refund %s of order %s: %s -> %s", refund.pk, order.number, current, status)
    return refund


def _refund_notify(*, order: Order, refund: Refund, kind: str) -> None:
    """Tell the customer their money is on its way back (`refund_succeeded`) or that it could not
    be sent (`refund_failed`: support has the order flagged). Once per refund and kind, queued in
    the transaction that moved the refund, so a rolled-back change tells nobody. A lost dispute is
    the customer's bank's to announce; an erased account is told nothing. The refunds of a withdrawal
    not yet acknowledged are told by its acknowledgement (billing.withdrawal), which follows them."""
    user = order.customer
    if user is None or user.anonymised_at or refund.source == Refund.Source.DISPUTE:
        return
    if Withdrawal.objects.filter(order=order, acknowledged_on="").exists():
        return
    notice_send(
        user=user,
        kind=kind,
        key=f"refund:{refund.pk}",
        context={
            "order_number": order.number,
            "plan_name": order_plan_name(order, user.language or settings.LANGUAGE_CODE).text,
            "amount_cents": refund.amount_cents,
            "currency": refund.currency,
            "to_wallet": refund.destination == Refund.Destination.WALLET,
            "data_taken_bytes": refund.data_reversed_bytes,
            "receipt_url": settings.SITE_URL + reverse("billing:receipt", args=[order.number]),
        },
    )


def _refund_take_effect(*, order: Order, refund: Refund, now: datetime) -> None:
    before = order.refunded_amount_cents
    order.refunded_amount_cents = _effective_cents(order)
    order.save(update_fields=["refunded_amount_cents"])
    if refund.destination == Refund.Destination.WALLET and order.customer_id:
        wallet_move(
            user=cast(User, order.customer),  # customer_id checked above
            amount_cents=refund.amount_cents,
            kind=WalletEntry.Kind.REFUND,
            now=now,
            order=order,
            refund=refund,
            staff_user=refund.staff_user,
            reason=refund.reason,
        )
    if order.fulfilled_at is not None and order.card_id is not None:
        _reverse_share(order=order, refund=refund, before=before, after=order.refunded_amount_cents, now=now)
    # An invoiced order gets its credit note in the same transaction (billing.invoicing).
    credit_note_issue(refund=refund, now=now)


def _reverse_share(*, order: Order, refund: Refund, before: int, after: int, now: datetime) -> None:
    """Take back the top-up's share for the refunded cents `before` → `after` (of what was paid).

    Shares are differences of one running total, so refunds that add up to the price take back
    the whole top-up, not the whole less a rounding byte and second per refund. The ledger caps
    it to what is left of the top-up, and never moves the expiry before now.
    """
    paid = max(order.paid_cents, 1)
    data = order.total_bytes * after // paid - order.total_bytes * before // paid
    seconds = order.plan_duration_seconds * after // paid - order.plan_duration_seconds * before // paid
    if data <= 0 and seconds <= 0:
        return
    card = Card.objects.select_for_update().get(pk=cast(int, order.card_id))
    entry = card_reverse_topup(
        card=card,
        order_id=order.pk,
        max_data=max(data, 0),
        max_duration=timedelta(seconds=max(seconds, 0)),
        now=now,
        staff_user=refund.staff_user,
        reason=refund.reason or f"Refund {refund.stripe_refund_id or refund.pk} of order {order.number}",
    )
    refund.data_reversed_bytes += -entry.data_delta
    if entry.expires_before is not None and entry.expires_after is not None:
        refund.duration_reversed_seconds += int((entry.expires_before - entry.expires_after).total_seconds())
    refund.save(update_fields=["data_reversed_bytes", "duration_reversed_seconds"])


def _refund_undo(*, order: Order, refund: Refund, now: datetime) -> None:
    order.refunded_amount_cents = _effective_cents(order)
    order.save(update_fields=["refunded_amount_cents"])
    if (refund.data_reversed_bytes or refund.duration_reversed_seconds) and order.card_id is not None:
        card = Card.objects.select_for_update().get(pk=order.card_id)
        card_restore_reversal(
            card=card,
            order_id=order.pk,
            data=refund.data_reversed_bytes,
            duration=timedelta(seconds=refund.duration_reversed_seconds),
            now=now,
            reason=f"Refund {refund.stripe_refund_id or refund.pk} {refund.status}: its reversal is undone",
        )


def order_refunds_reverse_after_fulfilment(*, order: Order, now: datetime) -> None:
    """A (locked) order renewed after some of it was refunded: take back those refunds' share now,
    in the order they succeeded, exactly as if the renewal had come first."""
    running = 0
    for refund in order.refunds.filter(status=RefundStatus.SUCCEEDED).order_by("succeeded_at", "id"):
        after = min(running + refund.amount_cents, order.paid_cents)
        _reverse_share(order=order, refund=refund, before=running, after=after, now=now)
        running = after


# --- Staff refunds: asked for, sent to Stripe outside any lock, recorded ----------------------


def refund_request(
    *,
    order_id: int,
    amount_cents: int,
    destination: str,
    staff_user: User | None,
    reason: str,
    now: datetime,
) -> Refund:
    """Write a staff refund down (a short transaction). To credit it takes effect at once; to the
    original method it waits as `requested` for `refund_send` to ask Stripe."""
    if not reason.strip():
        raise RefundRefused(_("A refund needs a written reason."))
    with transaction.atomic():
        order = _lock(order_id)
        blocker = order_refund_blocker(order=order, destination=destination)
        if blocker:
            raise RefundRefused(blocker)
        if amount_cents <= 0 or amount_cents > order_refundable_cents(order=order):
            raise RefundRefused(
                _("The refund must be more than zero and no more than what is left to refund.")
            )
        if destination == Refund.Destination.ORIGINAL_METHOD:
            if not order.stripe_payment_intent_id or order.payment_method_type == PAYMENT_METHOD_DEMO:
                raise RefundRefused(_("This order was not paid through Stripe; refund it to wallet credit."))
            to_method = order_refund_held_cents(order=order, destination=Refund.Destination.ORIGINAL_METHOD)
            if amount_cents > order.amount_charged_cents - to_method:
                raise RefundRefused(
                    _(
                        "Only what was charged to the payment method can go back to it; refund the rest to wallet credit."
                    )
                )
        refund = Refund.objects.create(
            order=order,
            amount_cents=amount_cents,
            currency=order.currency,
            destination=destination,
            source=Refund.Source.STAFF,
            status=RefundStatus.REQUESTED,
            staff_user=staff_user,
            reason=reason.strip(),
            created_at=now,
        )
    if destination == Refund.Destination.WALLET:
        refund = refund_status_apply(refund_id=refund.pk, status=RefundStatus.SUCCEEDED, now=now)
    return refund


def refund_send(*, refund_id: int, now: datetime) -> Refund:
    """Ask Stripe for a requested refund — no lock held while it answers — then record the answer.

    Safe to repeat (the reconciler does, for a refund whose answer was lost): the idempotency key
    is the refund's own, so Stripe answers a repeat with the same refund.
    """
    refund = Refund.objects.select_related("order").get(pk=refund_id)
    if refund.status != RefundStatus.REQUESTED or refund.stripe_refund_id:
        return refund
    try:
        answer = stripe_client.refund_create(refund=refund, order=refund.order).to_dict()
    except stripe.StripeError as error:
        if isinstance(error, stripe_client.TRANSIENT_ERRORS):
            raise  # unknown outcome: the refund stays requested and is sent again
        refund = refund_status_apply(
            refund_id=refund.pk,
            status=RefundStatus.CANCELED,
            now=now,
            failure_reason=f"Refused by Stripe: {error}",
        )
        raise RefundRefused(
            _("Stripe refused the refund: %(error)s") % {"error": error.user_message or error}, refund=refund
        ) from error
    return refund_from_stripe(refund_object=answer, order=refund.order, now=now)


def order_refund(
    *,
    order: Order,
    amount_cents: int,
    destination: str,
    staff_user: User | None,
    reason: str,
    now: datetime,
) -> Refund:
    """Staff refund, full or partial, to the original method (a Stripe refund) or to wallet credit.

    Three steps, none holding a lock while Stripe is asked: write it down, ask Stripe, record the
    answer. Returns the refund as it stands: succeeded, or pending until Stripe's events say more.
    A call must not run inside a transaction (the Stripe call would hold its locks).
    """
    refund = refund_request(
        order_id=order.pk,
        amount_cents=amount_cents,
        destination=destination,
        staff_user=staff_user,
        reason=reason,
        now=now,
    )
    if refund.status == RefundStatus.REQUESTED:
        try:
            refund = refund_send(refund_id=refund.pk, now=now)
        except stripe_client.TRANSIENT_ERRORS as error:
            raise RefundRefused(
                _(
                    "Stripe did not answer. The refund is recorded as requested and will be sent again "
                    "automatically; do not refund it a second time."
                ),
                refund=refund,
            ) from error
    return refund


# --- What Stripe tells us ------------------------------------------------------------------------


def refund_from_stripe(*, refund_object: dict, order: Order, now: datetime) -> Refund:
    """A Stripe Refund object (from an event, a list or our own create call), applied to `order`.

    Found by its id, or (our own, before its id was recorded) by the refund id in its metadata;
    otherwise it was made in the Dashboard and is written down now.
    """
    stripe_refund_id = refund_object["id"]
    with transaction.atomic():
        order = _lock(order.pk)
        refund = Refund.objects.select_for_update().filter(stripe_refund_id=stripe_refund_id).first()
        local_id = str((refund_object.get("metadata") or {}).get("refund_id") or "")
        if refund is None and local_id.isdigit():
            refund = (
                Refund.objects.select_for_update()
                .filter(pk=int(local_id), order=order, stripe_refund_id__isnull=True)
                .first()
            )
            if refund is not None:
                refund.stripe_refund_id = stripe_refund_id
                refund.save(update_fields=["stripe_refund_id"])
        if refund is None:
            amount = int(refund_object.get("amount") or 0)
            if amount <= 0:
                raise BillingError(f"Stripe refund {stripe_refund_id} has no amount.")
            if amount > order_refundable_cents(order=order):
                _flag(
                    order=order,
                    now=now,
                    reason=Order.FlagReason.REFUND,
                    error=f"Stripe refund {stripe_refund_id} of {amount} is more than was left to refund.",
                )
            refund = Refund.objects.create(
                order=order,
                amount_cents=amount,
                currency=(refund_object.get("currency") or order.currency).upper(),
                destination=Refund.Destination.ORIGINAL_METHOD,
                source=Refund.Source.STRIPE,
                status=RefundStatus.REQUESTED,
                stripe_refund_id=stripe_refund_id,
                reason=refund_object.get("reason") or "Refunded in Stripe.",
                created_at=now,
            )
    status = refund_object.get("status") or RefundStatus.PENDING
    if status not in _PROGRESS:
        logger.warning("Stripe refund %s has status %r; kept as pending", stripe_refund_id, status)
        status = RefundStatus.PENDING
    return refund_status_apply(
        refund_id=refund.pk, status=status, now=now, failure_reason=refund_object.get("failure_reason") or ""
    )


def charge_refunds_sync(*, charge: dict, order: Order, now: datetime) -> int:
    """`charge.refunded`: the charge holds totals, not refunds (API 2022-11-15 and later), so the
    refunds are listed from Stripe — unless the ones we know already add up to its total."""
    known = (
        order.refunds.filter(source__in=(Refund.Source.STAFF, Refund.Source.STRIPE))
        .exclude(status__in=(RefundStatus.FAILED, RefundStatus.CANCELED))
        .exclude(destination=Refund.Destination.WALLET)
        .aggregate(total=Sum("amount_cents"))["total"]
        or 0
    )
    if known == int(charge.get("amount_refunded") or 0):
        return 0
    refunds = [refund.to_dict() for refund in stripe_client.refunds_for_charge(charge["id"])]
    for refund_object in sorted(refunds, key=lambda item: item.get("created") or 0):
        refund_from_stripe(refund_object=refund_object, order=order, now=now)
    return len(refunds)


def dispute_from_stripe(*, dispute_object: dict, event_type: str, order: Order, now: datetime) -> Dispute:
    """Merge one view of a dispute into what we know. Events come in any order and each carries
    the dispute as it was then, so what only moves forward is kept: closed stays closed, funds
    once withdrawn (or reinstated) stay so. A dispute whose money is with the customer has a
    refund that has succeeded; reinstated funds undo it."""
    categories = {
        (transaction_object or {}).get("reporting_category")
        for transaction_object in dispute_object.get("balance_transactions") or []
        if isinstance(transaction_object, dict)
    }
    status = dispute_object.get("status") or ""
    with transaction.atomic():
        order = _lock(order.pk)
        dispute, created = Dispute.objects.select_for_update().get_or_create(
            stripe_dispute_id=dispute_object["id"],
            defaults={
                "order": order,
                "stripe_charge_id": stripe_client.object_id(dispute_object.get("charge")) or "",
                "amount_cents": int(dispute_object.get("amount") or 0),
                "currency": (dispute_object.get("currency") or order.currency).upper(),
                "reason": dispute_object.get("reason") or "",
                "status": status,
                "is_charge_refundable": bool(dispute_object.get("is_charge_refundable")),
                "created_at": now,
                "updated_at": now,
            },
        )
        if dispute.is_open:
            dispute.status = status or dispute.status
            dispute.is_charge_refundable = bool(dispute_object.get("is_charge_refundable"))
            if status in Dispute.CLOSED_STATUSES:
                dispute.closed_at = now
                dispute.is_charge_refundable = False
        if dispute.funds_withdrawn_at is None and (
            event_type == "charge.dispute.funds_withdrawn" or "dispute" in categories or status == "lost"
        ):
            dispute.funds_withdrawn_at = now
        if dispute.funds_reinstated_at is None and (
            event_type == "charge.dispute.funds_reinstated" or "dispute_reversal" in categories
        ):
            dispute.funds_reinstated_at = now
        dispute.updated_at = now
        dispute.save()
        if created:
            _flag(
                order=order,
                now=now,
                reason=Order.FlagReason.DISPUTE,
                error=f"Dispute {dispute.stripe_dispute_id}: {dispute.reason or 'no reason given'}.",
            )
        refund = Refund.objects.filter(dispute=dispute).first()
        if dispute.money_with_customer and refund is None:
            refund = Refund.objects.create(
                order=order,
                amount_cents=max(dispute.amount_cents, 1),
                currency=dispute.currency,
                destination=Refund.Destination.ORIGINAL_METHOD,
                source=Refund.Source.DISPUTE,
                status=RefundStatus.REQUESTED,
                dispute=dispute,
                reason=f"Dispute {dispute.stripe_dispute_id} ({dispute.reason or 'no reason given'}).",
                created_at=now,
            )
        # Inside the same transaction: the order lock is held, taken again (re-entrant) below.
        if refund is not None and dispute.money_with_customer:
            refund_status_apply(refund_id=refund.pk, status=RefundStatus.SUCCEEDED, now=now)
        elif refund is not None and refund.status == RefundStatus.SUCCEEDED:
            refund_status_apply(
                refund_id=refund.pk,
                status=RefundStatus.CANCELED,
                now=now,
                failure_reason="Dispute funds reinstated.",
            )
        order_status_settle(order=Order.objects.get(pk=order.pk), now=now)
    return dispute
