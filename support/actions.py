"""Staff actions from the admin: each locks what it changes, calls the owning app's service, and
writes the audit trail in the same transaction. Views never call the owning services directly."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from support.services import audit_record, object_snapshot
from usage import ledger
from usage.models import Card

CARD_FIELDS = ["data_remaining", "expires_at", "suspended_at", "period_allowance"]


class StaffActionError(ValueError):
    """Refused: the message is shown to the staff member on the confirmation page."""


def _locked_card(card: Card) -> Card:
    return Card.objects.select_for_update().get(pk=card.pk)


def _ledger_call(function, **kwargs):
    try:
        return function(**kwargs)
    except ledger.LedgerError as error:
        raise StaffActionError(str(error)) from error


@transaction.atomic
def staff_card_adjust(
    *, actor, card: Card, data_delta: int, expires_at: datetime | None, reason: str
) -> Card:
    now = timezone.now()
    card = _locked_card(card)
    before = object_snapshot(card, CARD_FIELDS)
    entry = _ledger_call(
        ledger.card_adjust,
        card=card,
        data_delta=data_delta,
        expires_at=expires_at,
        staff_user=actor,
        reason=reason,
        now=now,
    )
    audit_record(
        actor=actor,
        action="card_adjust",
        obj=card,
        reason=reason,
        before=before,
        after={**object_snapshot(card, CARD_FIELDS), "ledger_entry_id": entry.pk},
    )
    return card


@transaction.atomic
def staff_card_suspend(*, actor, card: Card, reason: str) -> Card:
    now = timezone.now()
    card = _locked_card(card)
    before = object_snapshot(card, CARD_FIELDS)
    entry = _ledger_call(ledger.card_suspend, card=card, staff_user=actor, reason=reason, now=now)
    audit_record(
        actor=actor,
        action="card_suspend",
        obj=card,
        reason=reason,
        before=before,
        after={**object_snapshot(card, CARD_FIELDS), "ledger_entry_id": entry.pk},
    )
    return card


@transaction.atomic
def staff_card_resume(*, actor, card: Card, reason: str) -> Card:
    now = timezone.now()
    card = _locked_card(card)
    before = object_snapshot(card, CARD_FIELDS)
    entry = _ledger_call(ledger.card_resume, card=card, staff_user=actor, reason=reason, now=now)
    audit_record(
        actor=actor,
        action="card_resume",
        obj=card,
        reason=reason,
        before=before,
        after={**object_snapshot(card, CARD_FIELDS), "ledger_entry_id": entry.pk},
    )
    return card


# --- Orders, wallets and Stripe events (billing's services) ----------------------------------

ORDER_FIELDS = ["status", "refunded_amount_cents", "fulfilled_at", "flagged_at", "last_error"]


def _billing_call(function, **kwargs):
    from billing import services as billing_services

    try:
        return function(**kwargs)
    except getattr(billing_services, "BillingError", ValueError) as error:
        raise StaffActionError(str(error)) from error


@transaction.atomic
def staff_order_refund(*, actor, order, amount_cents: int, destination: str, reason: str):
    from billing import services as billing_services
    from billing.models import Order

    order = Order.objects.select_for_update().get(pk=order.pk)
    before = object_snapshot(order, ORDER_FIELDS)
    refund = _billing_call(
        billing_services.order_refund,
        order=order,
        amount_cents=amount_cents,
        destination=destination,
        staff_user=actor,
        reason=reason,
    )
    order.refresh_from_db()
    audit_record(
        actor=actor,
        action="order_refund",
        obj=order,
        reason=reason,
        before=before,
        after={
            **object_snapshot(order, ORDER_FIELDS),
            "refund_id": refund.pk,
            "amount_cents": refund.amount_cents,
            "destination": refund.destination,
            "data_reversed_bytes": refund.data_reversed_bytes,
        },
    )
    return refund


@transaction.atomic
def staff_order_resend_confirmation(*, actor, order, reason: str):
    from billing import services as billing_services

    notices = _billing_call(billing_services.order_confirmation_resend, order=order)
    audit_record(
        actor=actor,
        action="order_resend_confirmation",
        obj=order,
        reason=reason,
        after={"notices": [notice.pk for notice in notices or []]},
    )
    return notices


@transaction.atomic
def staff_order_retry_fulfilment(*, actor, order, reason: str):
    from billing import services as billing_services

    before = object_snapshot(order, ORDER_FIELDS)
    _billing_call(billing_services.order_fulfilment_retry, order=order)
    order.refresh_from_db()
    audit_record(
        actor=actor,
        action="order_retry_fulfilment",
        obj=order,
        reason=reason,
        before=before,
        after=object_snapshot(order, ORDER_FIELDS),
    )
    return order


@transaction.atomic
def staff_wallet_credit(*, actor, user, amount_cents: int, reason: str):
    from billing import services as billing_services
    from billing.models import Wallet

    wallet = Wallet.objects.filter(user=user).first()
    before = {"balance_cents": wallet.balance_cents if wallet else 0}
    entry = _billing_call(
        billing_services.wallet_credit,
        user=user,
        amount_cents=amount_cents,
        kind="goodwill",
        staff_user=actor,
        reason=reason,
    )
    wallet = Wallet.objects.get(user=user)
    audit_record(
        actor=actor,
        action="wallet_credit",
        obj=wallet,
        reason=reason,
        before=before,
        after={"balance_cents": wallet.balance_cents, "wallet_entry_id": entry.pk},
    )
    return entry


@transaction.atomic
def staff_webhook_rerun(*, actor, event, reason: str):
    from billing import services as billing_services

    before = object_snapshot(event, ["processed_at", "attempts", "error"])
    _billing_call(billing_services.webhook_event_rerun, event=event)
    event.refresh_from_db()
    audit_record(
        actor=actor,
        action="webhook_rerun",
        obj=event,
        reason=reason,
        before=before,
        after=object_snapshot(event, ["processed_at", "attempts", "error"]),
    )
    return event
