"""The EU withdrawal function (Directive 2011/83/EU Art. 11a, added by Directive 2023/2673).

Rules (written down in the invoices note for DOMAIN.md):
- At checkout the customer expressly asks for the plan to start now and acknowledges what that
  means for the right of withdrawal (a required box; the wording is an operator-editable template
  per language, billing/legal/start_now.<language>.txt, kept with the order as shown).
- For WITHDRAWAL_DAYS (14) after payment, the order page and the receipt offer "Withdraw from this
  purchase": step one says what will be refunded, step two confirms. Nothing but the session the
  customer already has is needed.
- Without a recorded start-now request (an auto-renewal, an order from before this existed), the
  customer owes nothing for what was provided (Art. 14(4)(a)): the whole price is refunded.
- What is refunded (Art. 14(3): the price in proportion to what was not yet provided): the price
  paid times the smaller of the unused share of this top-up's data and the unused share of its
  validity, rounded half up to the cent, never more than what is left to refund. A plan not yet
  renewed onto the card has provided nothing: everything is refunded. A plan fully used, or
  whose validity has run out, has been provided: the withdrawal is refused (Art. 16(a)).
  - unused data = what the top-up added, less what refunds already took back, capped by what the
    card has left (the existing refund rule: the top-up's data is the last to be used);
  - unused validity = the part of this top-up's period (after the validity it was added to) that
    is still ahead, less what refunds already took back.
- The refund goes back the way the money came: to the payment method through Stripe, up to what
  was charged to it; what was paid with account credit goes back to the wallet. It then takes back
  its share of the top-up by the existing refund rule (so the scarcer of data and validity is
  taken back entirely, the other in the same proportion).
- The withdrawal is acknowledged at once, with its date and time, by email when the account has an
  address, by SMS otherwise (and on the receipt page, which keeps it); a refund Stripe refuses is
  flagged for support, the withdrawal itself stands.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import cast

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import User
from billing.errors import BillingError
from billing.models import Order, Refund, StartNowRequest, Withdrawal
from billing.presenters import order_plan_name
from billing.refunds import order_refund, order_refundable_cents
from notices.services import notice_send
from usage.models import Card, LedgerEntry

logger = logging.getLogger(__name__)

WITHDRAWAL_DAYS = 14
WITHDRAWABLE_STATUSES = (Order.Status.PAID, Order.Status.FULFILLED, Order.Status.PARTIALLY_REFUNDED)
PAYMENT_METHODS_WITHOUT_STRIPE = ("wallet", "promotion", "demo", "")


class WithdrawalRefused(Exception):
    """Why the purchase cannot be withdrawn from, in the active language, for the customer."""


# --- The start-now request at checkout -------------------------------------------------------------


def start_now_text(*, language: str) -> str:
    """The wording of the start-now request in `language` (English when the operator wrote none)."""
    for candidate in (language, settings.LANGUAGE_CODE):
        try:
            with translation.override(candidate):
                return render_to_string(
                    f"billing/legal/start_now.{candidate}.txt", {"days": WITHDRAWAL_DAYS}
                ).strip()
        except TemplateDoesNotExist:
            continue
    raise TemplateDoesNotExist("billing/legal/start_now.en.txt")


# --- What a withdrawal would refund ----------------------------------------------------------------


@dataclass(frozen=True)
class WithdrawalQuote:
    deadline: datetime
    data_unused: Fraction
    time_unused: Fraction
    refund_cents: int
    to_method_cents: int
    to_wallet_cents: int
    data_left_bytes: int
    time_left: timedelta

    @property
    def share(self) -> Fraction:
        return min(self.data_unused, self.time_unused)

    @property
    def share_percent(self) -> str:
        return f"{float(self.share) * 100:.0f}"


def withdrawal_deadline(*, order: Order) -> datetime | None:
    return order.paid_at + timedelta(days=WITHDRAWAL_DAYS) if order.paid_at else None


def _round_half_up(value: Fraction) -> int:
    return int(value + Fraction(1, 2)) if value >= 0 else -int(-value + Fraction(1, 2))


def _unused(*, order: Order, now: datetime) -> tuple[Fraction, Fraction, int, timedelta]:
    """(unused data share, unused validity share, data left, validity left) of the order's top-up."""
    if order.fulfilled_at is None or order.card_id is None:
        return Fraction(1), Fraction(1), order.total_bytes, order.duration
    card = Card.objects.get(pk=order.card_id)
    topup = LedgerEntry.objects.filter(card=card, kind=LedgerEntry.Kind.TOPUP, order_id=order.pk).first()
    if topup is None:
        return Fraction(1), Fraction(1), order.total_bytes, order.duration
    reversals = list(
        LedgerEntry.objects.filter(card=card, kind=LedgerEntry.Kind.REFUND_REVERSAL, order_id=order.pk)
    )
    data_reversed = -sum(entry.data_delta for entry in reversals)
    time_reversed = sum(
        (
            entry.expires_before - entry.expires_after
            for entry in reversals
            if entry.expires_before and entry.expires_after
        ),
        timedelta(0),
    )
    data_left = max(min(topup.data_delta - data_reversed, card.data_remaining_at(now)), 0)
    # The top-up's own period: after the validity it was added to (renewed early), else from payment.
    paid_at = cast(datetime, order.paid_at)  # only a paid order can be withdrawn from
    period_start = max(topup.expires_before or paid_at, paid_at)
    period_end = (
        min(topup.expires_after, card.expires_at) if topup.expires_after and card.expires_at else period_start
    )
    time_left = max(min(period_end - max(now, period_start), order.duration - time_reversed), timedelta(0))
    total_bytes = max(order.total_bytes, 1)
    total_seconds = max(int(order.duration.total_seconds()), 1)
    return (
        min(Fraction(data_left, total_bytes), Fraction(1)),
        min(Fraction(int(time_left.total_seconds()), total_seconds), Fraction(1)),
        data_left,
        time_left,
    )


def _paid_through_stripe(order: Order) -> bool:
    return (
        bool(order.stripe_payment_intent_id)
        and order.payment_method_type not in PAYMENT_METHODS_WITHOUT_STRIPE
    )


def withdrawal_refusal(*, order: Order, now: datetime) -> str | None:
    """Why this purchase cannot be withdrawn from now, or None (the pages and the service agree)."""
    if Withdrawal.objects.filter(order=order).exists():
        return _("You have already withdrawn from this purchase.")
    deadline = withdrawal_deadline(order=order)
    if deadline is None or order.status not in WITHDRAWABLE_STATUSES:
        return _("This purchase cannot be withdrawn from online. Please contact support.")
    if now > deadline:
        return _("The %(days)d days to withdraw from this purchase are over.") % {"days": WITHDRAWAL_DAYS}
    if order_refundable_cents(order=order) <= 0:
        return _("Nothing is left to refund on this purchase.")
    return None


def withdrawal_quote(*, order: Order, now: datetime) -> WithdrawalQuote:
    data_unused, time_unused, data_left, time_left = _unused(order=order, now=now)
    if not StartNowRequest.objects.filter(order=order).exists():
        # Without the customer's express request to start at once, a withdrawing customer owes
        # nothing for what was provided (Art. 14(4)(a)): all of the price comes back.
        data_unused = time_unused = Fraction(1)
    share = min(data_unused, time_unused)
    refund = min(_round_half_up(order.paid_cents * share), order_refundable_cents(order=order))
    refund = max(refund, 0)
    to_method = 0
    if _paid_through_stripe(order):
        refunded_to_method = sum(
            order.refunds.filter(destination=Refund.Destination.ORIGINAL_METHOD).values_list(
                "amount_cents", flat=True
            )
        )
        to_method = min(refund, max(order.amount_charged_cents - refunded_to_method, 0))
    return WithdrawalQuote(
        deadline=withdrawal_deadline(order=order) or now,
        data_unused=data_unused,
        time_unused=time_unused,
        refund_cents=refund,
        to_method_cents=to_method,
        to_wallet_cents=refund - to_method,
        data_left_bytes=data_left,
        time_left=time_left,
    )


# --- Withdrawing ------------------------------------------------------------------------------


def withdrawal_make(*, order: Order, user: User, now: datetime) -> Withdrawal:
    """The customer confirmed: record the withdrawal, refund, acknowledge. Raises WithdrawalRefused.

    The withdrawal is written first, in its own short transaction (a double click finds it there);
    the refunds follow outside any lock, because one of them asks Stripe.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update(of=("self",)).get(pk=order.pk)
        refusal = withdrawal_refusal(order=order, now=now)
        if refusal:
            raise WithdrawalRefused(refusal)
        quote = withdrawal_quote(order=order, now=now)
        if quote.refund_cents <= 0:
            raise WithdrawalRefused(
                _("This plan has been used up or has run out: there is nothing left to withdraw from.")
            )
        try:
            withdrawal = Withdrawal.objects.create(
                order=order,
                user=user,
                requested_at=now,
                data_unused_bp=int(quote.data_unused * 10000),
                time_unused_bp=int(quote.time_unused * 10000),
                refund_cents=quote.refund_cents,
                to_method_cents=quote.to_method_cents,
                to_wallet_cents=quote.to_wallet_cents,
            )
        except IntegrityError as error:
            raise WithdrawalRefused(_("You have already withdrawn from this purchase.")) from error
    reason = f"Withdrawal from the purchase by the customer, {now.isoformat()}"
    problems = []
    for destination, cents in (
        (Refund.Destination.ORIGINAL_METHOD, quote.to_method_cents),
        (Refund.Destination.WALLET, quote.to_wallet_cents),
    ):
        if cents <= 0:
            continue
        try:
            refund = order_refund(
                order=order,
                amount_cents=cents,
                destination=destination,
                staff_user=None,
                reason=reason,
                now=now,
            )
        except BillingError as error:
            problems.append(f"{destination}: {error}")
            logger.error(
                "Withdrawal %s: refund of %s to %s failed: %s", withdrawal.pk, cents, destination, error
            )
            continue
        field = "method_refund" if destination == Refund.Destination.ORIGINAL_METHOD else "wallet_refund"
        Withdrawal.objects.filter(pk=withdrawal.pk).update(**{field: refund})
    if problems:
        Withdrawal.objects.filter(pk=withdrawal.pk).update(refund_error="; ".join(problems))
        Order.objects.filter(pk=order.pk, flagged_at__isnull=True).update(
            flagged_at=now,
            flag_reason=Order.FlagReason.REFUND,
            last_error="Withdrawal refund failed: " + "; ".join(problems),
        )
    withdrawal.refresh_from_db()
    withdrawal_acknowledge(withdrawal=withdrawal)
    return withdrawal


def withdrawal_acknowledge(*, withdrawal: Withdrawal) -> list[str]:
    """Acknowledge on a durable medium the customer has: email if known, else SMS (and the receipt)."""
    order = withdrawal.order
    user = order.customer
    if user is None or user.anonymised_at:
        return []
    sent = notice_send(
        user=user,
        kind="withdrawal_acknowledgement",
        key=f"order:{order.pk}",
        context={
            "order_number": order.number,
            "plan_name": order_plan_name(order, user.language or settings.LANGUAGE_CODE).text,
            "requested_at": withdrawal.requested_at.isoformat(),
            "refund_cents": withdrawal.refund_cents,
            "to_method_cents": withdrawal.to_method_cents,
            "to_wallet_cents": withdrawal.to_wallet_cents,
            "currency": order.currency,
            "receipt_url": settings.SITE_URL + reverse("billing:receipt", args=[order.number]),
        },
        always_email=True,
    )
    channels = sorted({notice.channel for notice in sent})
    Withdrawal.objects.filter(pk=withdrawal.pk).update(acknowledged_on=",".join(channels))
    return channels
