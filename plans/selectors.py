from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from modeltranslation.utils import build_localized_fieldname

from plans.models import Plan
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
