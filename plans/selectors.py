from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from modeltranslation.utils import build_localized_fieldname

from plans.models import Plan, Promotion
from portal.lib.units import BYTES_PER_GB


def plans_on_sale() -> QuerySet[Plan]:
    return Plan.objects.filter(is_active=True).order_by("display_order", "price_cents", "id")


def plan_names(plan: Plan) -> dict[str, str]:
    """The plan's name in each language it has one in ({"en": "Week Pass", "zh-hans": "一周畅游"}),
    as an order snapshots it: no fallback, so a language without a name is simply absent."""
    names = {}
    for language, _name in settings.LANGUAGES:
        name = getattr(plan, build_localized_fieldname("name", language), None)
        if name:
            names[language] = name
    return names


def plan_price_per_gb_cents(plan: Plan) -> int:
    # Integer maths, rounding half up: €34.90 for 20 GB is €1.75 per GB.
    return (plan.price_cents * BYTES_PER_GB * 2 + plan.data_bytes) // (plan.data_bytes * 2)


def plan_validity_label(plan: Plan) -> str:
    hours = int(plan.duration.total_seconds() // 3600)
    if hours % 24:
        return ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}
    if hours == 24:
        return ngettext("%(count)d hour", "%(count)d hours", 24) % {"count": 24}
    days = hours // 24
    return ngettext("%(count)d day", "%(count)d days", days) % {"count": days}


def plan_coverage(plan: Plan) -> list[str]:
    areas = [
        (plan.covers_monaco, _("Monaco")),
        (plan.covers_french_riviera, _("French Riviera")),
        (plan.covers_ligurian_coast, _("Ligurian coast")),
    ]
    return [str(name) for covered, name in areas if covered]


@dataclass
class RenewalPreview:
    """What renewing `card` with `plan` at `now` would do, by DOMAIN.md's renewal rule."""

    carries_over: bool
    data_kept: int
    data_after: int
    expires_after: datetime


def renewal_preview(*, card, plan: Plan, now: datetime, bonus_bytes: int = 0) -> RenewalPreview:
    if card.expires_at is not None and now < card.expires_at:
        return RenewalPreview(
            carries_over=True,
            data_kept=card.data_remaining,
            data_after=card.data_remaining + plan.data_bytes + bonus_bytes,
            expires_after=card.expires_at + plan.duration,
        )
    # Expired or never used: what was left was forfeited at expiry, the new period starts now.
    return RenewalPreview(
        carries_over=False,
        data_kept=0,
        data_after=plan.data_bytes + bonus_bytes,
        expires_after=now + plan.duration,
    )


class PromotionInvalid(Exception):
    """Raised with a message the customer can read."""


# Given a promotion and a customer, returns (redemptions in total, redemptions by this customer).
RedemptionCounter = Callable[[Promotion, object], tuple[int, int]]


def promotion_validate(
    *,
    code: str,
    plan: Plan,
    customer,
    now: datetime,
    count_redemptions: RedemptionCounter | None = None,
) -> Promotion:
    """The promotion behind `code` if `customer` may use it on `plan` at `now`, else PromotionInvalid.

    Redemptions are orders, which billing owns: billing passes `count_redemptions` to enforce the
    total and per-customer limits (and must count them again under a lock when the order is paid).
    """
    promotion = Promotion.objects.filter(code__iexact=(code or "").strip()).first()
    if promotion is None or not promotion.is_active:
        raise PromotionInvalid(_("This promo code is not valid."))
    if now < promotion.valid_from:
        raise PromotionInvalid(_("This promo code is not valid yet."))
    if now >= promotion.valid_until:
        raise PromotionInvalid(_("This promo code has expired."))
    allowed_plan_ids = {allowed.pk for allowed in promotion.plans.all()}
    if allowed_plan_ids and plan.pk not in allowed_plan_ids:
        raise PromotionInvalid(_("This promo code cannot be used with this plan."))
    if count_redemptions is not None:
        total, by_customer = count_redemptions(promotion, customer)
        if promotion.max_redemptions is not None and total >= promotion.max_redemptions:
            raise PromotionInvalid(_("This promo code has been fully used."))
        if promotion.max_per_customer is not None and by_customer >= promotion.max_per_customer:
            raise PromotionInvalid(_("You have already used this promo code."))
    return promotion
