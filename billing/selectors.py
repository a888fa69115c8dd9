"""Reads for billing: quotes, wallet balance, promotion counts, order lookups."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AnonymousUser
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from billing.models import AutoRenewal, Order, Wallet, WalletEntry
from plans.models import Plan, Promotion
from portal.lib.display import format_monaco_datetime
from usage.models import Card, LedgerEntry
from usage.selectors import card_renewal_preview

# Orders closed without taking money: they hold no promotion slot and no renew link payment.
UNPAID_CLOSED_STATUSES = (Order.Status.FAILED, Order.Status.EXPIRED, Order.Status.CANCELLED)
# Orders that took money: renewed or to be renewed, counted by the revenue report and its exports.
PAID_STATUSES = (
    Order.Status.PAID,
    Order.Status.FULFILLED,
    Order.Status.REFUNDED,
    Order.Status.PARTIALLY_REFUNDED,
    Order.Status.DISPUTED,
)


# Paid (or still pending) this long without the renewal applied: support must look (DOMAIN.md
# reconciler, "anything stuck for 24 hours is flagged for support").
STUCK_AFTER = timedelta(hours=24)


def orders_stuck(*, now: datetime) -> Q:
    """Pending, or paid and not renewed, for longer than STUCK_AFTER."""
    return Q(status=Order.Status.PENDING, created_at__lt=now - STUCK_AFTER) | Q(
        status=Order.Status.PAID, paid_at__lt=now - STUCK_AFTER
    )


class PromotionInvalid(Exception):
    """A promo code that cannot be used; the message says why, for the customer."""


def wallet_balance_cents(*, user: User | AnonymousUser | None) -> int:
    """Credit the customer can spend, in cents (0 when they never had any)."""
    if user is None or not user.is_authenticated:
        return 0
    return Wallet.objects.filter(user=user).values_list("balance_cents", flat=True).first() or 0


def wallet_entries(*, user: User) -> QuerySet[WalletEntry]:
    return (
        WalletEntry.objects.filter(wallet__user=user)
        .select_related("order", "refund")
        .order_by("-created_at", "-id")
    )


def promotion_redemptions_count(*, promotion: Promotion, user: User | None = None) -> int:
    """Orders holding the code: paid ones and pending ones (which may still be paid)."""
    orders = Order.objects.filter(promotion=promotion).exclude(status__in=UNPAID_CLOSED_STATUSES)
    if user is not None:
        orders = orders.filter(customer=user)
    return orders.count()


def promotion_find(*, code: str, plan: Plan, user: User, now: datetime, lock: bool = False) -> Promotion:
    """The promotion for `code`, if this customer may use it on this plan now; else PromotionInvalid.

    With lock=True (inside a transaction) the promotion row stays locked, so the counts hold until commit.
    """
    promotions = Promotion.objects.filter(code__iexact=code.strip())
    if lock:
        promotions = promotions.select_for_update()
    promotion = promotions.first()
    if promotion is None or not promotion.is_active:
        raise PromotionInvalid(_("This promo code does not exist. Check the spelling and try again."))
    if now < promotion.valid_from:
        raise PromotionInvalid(_("This promo code is not valid yet."))
    if now >= promotion.valid_until:
        raise PromotionInvalid(_("This promo code has expired."))
    if promotion.plans.exists() and not promotion.plans.filter(pk=plan.pk).exists():
        raise PromotionInvalid(_("This promo code does not apply to this plan."))
    if (
        promotion.max_redemptions is not None
        and promotion_redemptions_count(promotion=promotion) >= promotion.max_redemptions
    ):
        raise PromotionInvalid(_("This promo code has been used up."))
    if promotion_redemptions_count(promotion=promotion, user=user) >= promotion.max_per_customer:
        raise PromotionInvalid(_("You have already used this promo code."))
    return promotion


def promotion_discount_cents(*, promotion: Promotion | None, price_cents: int) -> int:
    if promotion is None:
        return 0
    if promotion.discount_percent:
        # Half up, in whole cents.
        return min(price_cents, (price_cents * promotion.discount_percent + 50) // 100)
    if promotion.discount_cents:
        return min(price_cents, promotion.discount_cents)
    return 0


@dataclass(frozen=True)
class Quote:
    """What an order would cost and do, computed from the server's plan: never from the form."""

    plan: Plan
    card: Card | None
    promotion: Promotion | None
    list_price_cents: int
    discount_cents: int
    bonus_bytes: int
    wallet_balance_cents: int
    wallet_applied_cents: int
    amount_charged_cents: int
    currency: str
    # What the card will look like if paid now.
    expires_at: datetime
    data_available_bytes: int
    renews_before_expiry: bool

    @property
    def total_bytes(self) -> int:
        return self.plan.data_bytes + self.bonus_bytes

    @property
    def vat_percent(self) -> str:
        return f"{self.plan.vat_rate_bp / 100:g}"

    @property
    def validity_text(self) -> str:
        hours = int(self.plan.duration.total_seconds() // 3600)
        if hours % 24:
            return ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}
        return ngettext("%(count)d day", "%(count)d days", hours // 24) % {"count": hours // 24}


def order_quote(
    *,
    user: User,
    plan: Plan,
    card: Card | None,
    promotion: Promotion | None,
    apply_wallet: bool,
    now: datetime,
) -> Quote:
    discount = promotion_discount_cents(promotion=promotion, price_cents=plan.price_cents)
    bonus = promotion.bonus_bytes if promotion else 0
    balance = wallet_balance_cents(user=user)
    due = plan.price_cents - discount
    wallet_applied = min(balance, due) if apply_wallet else 0
    preview = card_renewal_preview(
        card=card, duration=plan.duration, add_bytes=plan.data_bytes + bonus, start=now
    )
    return Quote(
        plan=plan,
        card=card,
        promotion=promotion,
        list_price_cents=plan.price_cents,
        discount_cents=discount,
        bonus_bytes=bonus,
        wallet_balance_cents=balance,
        wallet_applied_cents=wallet_applied,
        amount_charged_cents=due - wallet_applied,
        currency=plan.currency,
        expires_at=preview.expires_after,
        data_available_bytes=preview.data_after,
        renews_before_expiry=preview.carries_over,
    )


def plan_for_sale(*, code: str) -> Plan | None:
    return Plan.objects.filter(code=code, is_active=True).first()


def card_for_user_or_404(*, user: User | AnonymousUser, card_id: int | str) -> Card:
    try:
        return Card.objects.get(pk=int(card_id), owner_id=user.pk)
    except (Card.DoesNotExist, TypeError, ValueError):
        raise Http404("No such card.") from None


def order_for_user_or_404(*, user: User | AnonymousUser, number: str) -> Order:
    if not user.is_authenticated:
        raise Http404("No such order.")
    order = (
        Order.objects.select_related("card", "plan")
        .prefetch_related("refunds")
        .filter(number=number, customer_id=user.pk)
        .first()
    )
    if order is None:
        raise Http404("No such order.")
    return order


def orders_for_user(*, user: User) -> QuerySet[Order]:
    return (
        Order.objects.filter(customer=user)
        .select_related("card")
        .prefetch_related("refunds")
        .order_by("-created_at", "-id")
    )


def auto_renewal_for_card(*, card: Card) -> AutoRenewal | None:
    return AutoRenewal.objects.filter(card=card).select_related("plan").first()


def auto_renewals_due(
    *, now: datetime, expiry_window: timedelta, used_fraction: float, by_thresholds: bool = True
) -> QuerySet[AutoRenewal]:
    """Enabled auto-renewals whose active card expires within the window or has used the fraction
    (`by_thresholds=False`: every enabled one, for the forecast trigger to look at).

    Cards already triggered for their current expiry are left out: one attempt per validity period.
    """
    enabled = AutoRenewal.objects.filter(
        enabled=True,
        card__owner=F("user"),
        card__suspended_at__isnull=True,
        card__expires_at__gt=now,
    )
    if by_thresholds:
        enabled = enabled.filter(
            Q(card__expires_at__lte=now + expiry_window)
            | Q(
                card__period_allowance__gt=0,
                card__data_remaining__lte=(1 - used_fraction) * F("card__period_allowance"),
            )
        )
    return enabled.exclude(last_triggered_for_expiry=F("card__expires_at")).select_related(
        "card", "plan", "user"
    )


def orders_with_granted_expiry(queryset: QuerySet[Order]) -> QuerySet[Order]:
    """The orders with what each one's top-up granted, read in the same query (a list of orders
    showing order_renewal_state makes no query per row)."""
    topup = LedgerEntry.objects.filter(order_id=OuterRef("pk"), kind=LedgerEntry.Kind.TOPUP)
    return queryset.annotate(granted_expires_at=Subquery(topup.values("expires_after")[:1]))


def order_renewal_state(order: Order, *, for_traveller: bool = False) -> str:
    """In one line: has the card been renewed for this order?"""
    now = timezone.now()
    if order.status == Order.Status.FULFILLED:
        # What this order granted (its top-up's expiry), not the card's expiry today, which later
        # renewals, refunds and adjustments have moved since.
        if hasattr(order, "granted_expires_at"):  # orders_with_granted_expiry
            granted = order.granted_expires_at
        else:
            granted = (
                LedgerEntry.objects.filter(order_id=order.pk, kind=LedgerEntry.Kind.TOPUP)
                .values_list("expires_after", flat=True)
                .first()
            )
        if granted:
            return gettext("Renewed %(when)s: valid until %(expiry)s") % {
                "when": format_monaco_datetime(order.fulfilled_at) if order.fulfilled_at else "",
                "expiry": format_monaco_datetime(granted),
            }
        return gettext("Renewed")
    if order.status == Order.Status.PAID:
        waited = now - (order.paid_at or now)
        if waited > STUCK_AFTER:
            if for_traveller:
                return gettext("Payment received; the renewal has not been applied yet. Support is on it.")
            return gettext("Paid but NOT renewed for over 24 hours")
        return gettext("Paid, renewal in progress")
    return order.get_status_display()
