"""Staff actions on orders, wallets and Stripe events from the admin: each locks what it changes,
calls billing's service and writes the audit trail in the same transaction — except a refund,
which never holds a lock while Stripe answers (see staff_order_refund). Admin views never call
the services directly."""

from collections.abc import Callable
from typing import Any, TypeVar

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from audit.services import StaffActionError, audit_record, object_snapshot, staff_action_refuse_own_account
from billing import refunds
from billing import services as billing_services
from billing.documents import DocumentNotSent, document_email_send
from billing.models import Invoice, Order, Refund, Wallet, WalletEntry, WebhookEvent
from billing.services import BillingError, renewal_confirmation_send
from billing.wallet import wallet_credit_goodwill
from billing.webhooks import webhook_event_rerun
from notices.models import Notification
from notices.services import NoticeError, notification_resend
from usage import ledger

ORDER_FIELDS = ["status", "refunded_amount_cents", "fulfilled_at", "flagged_at", "last_error"]
EVENT_FIELDS = ["processed_at", "attempts", "error"]
T = TypeVar("T")


def _billing_call(function: Callable[..., T], **kwargs: Any) -> T:
    try:
        return function(**kwargs)
    except (BillingError, NoticeError, ledger.LedgerError) as error:
        raise StaffActionError(str(error)) from error


def staff_order_refund(
    *, actor: User, order: Order, amount_cents: int, destination: str, reason: str
) -> Refund:
    """No lock is held while Stripe answers: the refund is written down, sent and its answer
    recorded in short transactions of their own (billing.refunds.order_refund); the audit trail
    then records what was asked and how it stands, even when Stripe refused or did not answer."""
    staff_action_refuse_own_account(actor=actor, customer_id=order.customer_id)
    before = object_snapshot(Order.objects.get(pk=order.pk), ORDER_FIELDS)
    refused = None
    try:
        refund = refunds.order_refund(
            order=order,
            amount_cents=amount_cents,
            destination=destination,
            staff_user=actor,
            reason=reason,
            now=timezone.now(),
        )
    except refunds.RefundRefused as error:
        if error.refund is None:
            raise StaffActionError(str(error)) from error  # refused before anything was written
        refused, refund = error, error.refund
    except (BillingError, ledger.LedgerError) as error:
        raise StaffActionError(str(error)) from error
    refund.refresh_from_db()
    with transaction.atomic():
        order = Order.objects.get(pk=order.pk)
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
                "refund_status": refund.status,
                "failure_reason": refund.failure_reason,
                "stripe_refund_id": refund.stripe_refund_id,
                "data_reversed_bytes": refund.data_reversed_bytes,
            },
        )
    if refused is not None:
        raise StaffActionError(str(refused)) from refused
    return refund


@transaction.atomic
def staff_order_resend_confirmation(*, actor: User, order: Order, reason: str) -> list:
    """The confirmation notices already sent for this order go out again, on the same channels."""
    staff_action_refuse_own_account(actor=actor, customer_id=order.customer_id)
    if order.status not in ("fulfilled", "partially_refunded") or order.card_id is None:
        raise StaffActionError(_("Only a renewed order has a confirmation to resend."))
    notices = list(
        Notification.objects.filter(
            user_id=order.customer_id,  # type: ignore[misc]  # None: the customer deleted the account
            kind="renewal_confirmation",
            dedupe_key__startswith=f"renewal_confirmation:order:{order.pk}:",
        ).exclude(status=Notification.Status.PENDING)
    )
    if notices:
        for notice in notices:
            _billing_call(notification_resend, notification=notice)
    else:
        # Never sent (no channel at the time, or before notices were logged): send it now.
        _billing_call(renewal_confirmation_send, order=order, card=order.card)
        notices = list(
            Notification.objects.filter(dedupe_key__startswith=f"renewal_confirmation:order:{order.pk}:")
        )
    if not notices:
        raise StaffActionError(_("The customer has no email address or phone to send it to."))
    audit_record(
        actor=actor,
        action="order_resend_confirmation",
        obj=order,
        reason=reason,
        after={"notices": [{"id": n.pk, "channel": n.channel, "recipient": n.recipient} for n in notices]},
    )
    return notices


def staff_order_retry_fulfilment(*, actor: User, order: Order, reason: str) -> Order:
    """Runs the fulfilment now (the same service the worker runs), so staff see the outcome at once."""
    staff_action_refuse_own_account(actor=actor, customer_id=order.customer_id)
    before = object_snapshot(order, ORDER_FIELDS)
    order = _billing_call(billing_services.order_fulfil, order_id=order.pk, now=timezone.now())
    order.refresh_from_db()
    audit_record(
        actor=actor,
        action="order_retry_fulfilment",
        obj=order,
        reason=reason,
        before=before,
        after=object_snapshot(order, ORDER_FIELDS),
    )
    if order.fulfilled_at is None:
        raise StaffActionError(
            order.last_error
            or _("Order %(number)s is still not renewed (%(status)s).")
            % {"number": order.number, "status": order.get_status_display()}
        )
    return order


@transaction.atomic
def staff_wallet_credit(*, actor: User, user: User, amount_cents: int, reason: str) -> WalletEntry:
    staff_action_refuse_own_account(actor=actor, customer_id=user.pk)
    wallet = Wallet.objects.filter(user=user).first()
    before = {"balance_cents": wallet.balance_cents if wallet else 0}
    entry = _billing_call(
        wallet_credit_goodwill,
        user=user,
        amount_cents=amount_cents,
        staff_user=actor,
        reason=reason,
        now=timezone.now(),
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


def staff_webhook_rerun(*, actor: User, event: WebhookEvent, reason: str) -> WebhookEvent:
    """Hands a stored event to its handler again. Handlers are idempotent (an order already
    fulfilled or refunded is left as it is), so re-running a processed event is safe."""
    before = object_snapshot(event, EVENT_FIELDS)
    try:
        event = webhook_event_rerun(webhook_event_id=event.pk, now=timezone.now())
    except Exception as error:
        event.refresh_from_db()
        audit_record(
            actor=actor,
            action="webhook_rerun",
            obj=event,
            reason=reason,
            before=before,
            after=object_snapshot(event, EVENT_FIELDS),
        )
        raise StaffActionError(_("The handler failed again: %(error)s") % {"error": error}) from error
    audit_record(
        actor=actor,
        action="webhook_rerun",
        obj=event,
        reason=reason,
        before=before,
        after=object_snapshot(event, EVENT_FIELDS),
    )
    return event


@transaction.atomic
def staff_invoice_resend(*, actor: User, document: Invoice, reason: str) -> Notification:
    """Email an invoice or credit note to the customer again; the document itself never changes."""
    staff_action_refuse_own_account(actor=actor, customer_id=document.order.customer_id)
    try:
        notice = document_email_send(document=document, key=f"staff:{actor.pk}:{timezone.now().isoformat()}")
    except DocumentNotSent as error:
        raise StaffActionError(str(error)) from error
    audit_record(
        actor=actor,
        action="invoice_resend",
        obj=document,
        reason=reason,
        after={"notification_id": notice.pk, "recipient": notice.recipient},
    )
    return notice
