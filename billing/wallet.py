"""The wallet (DOMAIN.md "Account balance"): credit in cents, moved only by entries; the balance
never goes below zero. Reads are in billing.selectors (wallet_balance_cents, wallet_entries)."""

from datetime import datetime
from typing import cast
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from billing.errors import WalletError
from billing.models import Order, Refund, Wallet, WalletEntry
from portal.lib.display import format_money as money_format


def wallet_locked(*, user: User) -> Wallet:
    """The customer's wallet row, created if needed, locked until the transaction ends."""
    Wallet.objects.get_or_create(user=user)
    return Wallet.objects.select_for_update().get(user=user)


def wallet_move(
    *,
    user: User,
    amount_cents: int,
    kind: str,
    now: datetime,
    order: Order | None = None,
    refund: Refund | None = None,
    staff_user: User | None = None,
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


def goodwill_given_today_cents(*, staff_user: User, now: datetime) -> int:
    """Goodwill this staff member has credited since midnight, Monaco time."""
    local = timezone.localtime(now, ZoneInfo(settings.DISPLAY_TIME_ZONE))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    given = WalletEntry.objects.filter(
        kind=WalletEntry.Kind.GOODWILL, staff_user=staff_user, created_at__gte=midnight
    ).aggregate(total=Sum("amount_cents"))["total"]
    return given or 0


def _goodwill_within_caps(*, staff_user: User, amount_cents: int, now: datetime) -> None:
    """A support agent gives at most GOODWILL_MAX_CREDIT_CENTS per credit and
    GOODWILL_DAILY_CAP_CENTS a day; more needs an administrator (a superuser), who makes the credit."""
    if staff_user is None or staff_user.is_superuser:
        return
    get_user_model().objects.select_for_update().filter(
        pk=staff_user.pk
    ).first()  # one credit at a time per agent
    per_credit = settings.GOODWILL_MAX_CREDIT_CENTS
    per_day = settings.GOODWILL_DAILY_CAP_CENTS
    if amount_cents > per_credit:
        raise WalletError(
            _("Goodwill above %(cap)s per credit needs an administrator: ask one to make this credit.")
            % {"cap": money_format(per_credit, settings.CURRENCY)}
        )
    given = goodwill_given_today_cents(staff_user=staff_user, now=now)
    if given + amount_cents > per_day:
        raise WalletError(
            _(
                "You have given %(given)s of goodwill today; the limit is %(cap)s a day. An administrator "
                "can make this credit."
            )
            % {
                "given": money_format(given, settings.CURRENCY),
                "cap": money_format(per_day, settings.CURRENCY),
            }
        )


def wallet_credit_goodwill(
    *, user: User, amount_cents: int, staff_user: User, reason: str, now: datetime
) -> WalletEntry:
    if amount_cents <= 0:
        raise WalletError(_("Goodwill credit must be a positive amount."))
    if not reason.strip():
        raise WalletError(_("Goodwill credit needs a written reason."))
    if staff_user is not None and staff_user.pk == user.pk:
        raise WalletError(_("You cannot act on your own customer account. Ask a colleague to do it."))
    with transaction.atomic():  # the agent's row stays locked until the credit is written
        _goodwill_within_caps(staff_user=staff_user, amount_cents=amount_cents, now=now)
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
            user=cast(User, order.customer),  # customer_id checked above
            amount_cents=order.wallet_applied_cents,
            kind=WalletEntry.Kind.ORDER_RETURN,
            now=now,
            order=order,
        )
