"""The wallet (DOMAIN.md "Account balance"): credit in cents, moved only by entries; the balance
never goes below zero. Reads are in billing.selectors (wallet_balance_cents, wallet_entries)."""

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from billing.errors import WalletError
from billing.models import Order, Refund, Wallet, WalletEntry


def wallet_locked(*, user) -> Wallet:
    """The customer's wallet row, created if needed, locked until the transaction ends."""
    Wallet.objects.get_or_create(user=user)
    return Wallet.objects.select_for_update().get(user=user)


def wallet_move(
    *,
    user,
    amount_cents: int,
    kind: str,
    now: datetime,
    order: Order | None = None,
    refund: Refund | None = None,
    staff_user=None,
    reason: str = "",
) -> WalletEntry:
    """One signed movement of credit, written as an entry; the balance never goes below zero."""
    if amount_cents == 0:
        raise WalletError(_("A wallet movement needs an amount."))
    with transaction.atomic():
        wallet = wallet_locked(user=user)
        balance = wallet.balance_cents + amount_cents
        if balance < 0:
            raise WalletError(_("There is not enough credit in the wallet."))
        wallet.balance_cents = balance
        wallet.updated_at = now
        wallet.save(update_fields=["balance_cents", "updated_at"])
        return WalletEntry.objects.create(
            wallet=wallet,
            kind=kind,
            amount_cents=amount_cents,
            balance_after_cents=balance,
            order=order,
            refund=refund,
            staff_user=staff_user,
            reason=reason,
            created_at=now,
        )


def wallet_credit_goodwill(*, user, amount_cents: int, staff_user, reason: str, now: datetime) -> WalletEntry:
    if amount_cents <= 0:
        raise WalletError(_("Goodwill credit must be a positive amount."))
    if not reason.strip():
        raise WalletError(_("Goodwill credit needs a written reason."))
    return wallet_move(
        user=user,
        amount_cents=amount_cents,
        kind=WalletEntry.Kind.GOODWILL,
        now=now,
        staff_user=staff_user,
        reason=reason.strip(),
    )


def wallet_return_for_order(*, order: Order, now: datetime) -> None:
    """Credit drawn by an order that was never paid goes back, once."""
    if order.wallet_applied_cents and order.customer_id:
        if WalletEntry.objects.filter(order=order, kind=WalletEntry.Kind.ORDER_RETURN).exists():
            return
        wallet_move(
            user=order.customer,
            amount_cents=order.wallet_applied_cents,
            kind=WalletEntry.Kind.ORDER_RETURN,
            now=now,
            order=order,
        )
