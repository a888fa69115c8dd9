from dataclasses import dataclass

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from plans import selectors
from plans.models import Plan
from usage.models import Card
from usage.selectors import RenewalPreview, card_get_for_user, card_renewal_preview, cards_for_user

NEW_ESIM = "new"


@dataclass
class PlanOffer:
    plan: Plan
    price_per_gb_cents: int
    validity: str
    coverage: list[str]
    preview: RenewalPreview | None


def _selected_card(request: HttpRequest, cards: list[Card]) -> Card | None:
    """The card being renewed: ?card=<id> (404 unless it is the customer's), else their first card.

    ?card=new means "buy with a new eSIM".
    """
    wanted = request.GET.get("card", "")
    if wanted == NEW_ESIM:
        return None
    if wanted and request.user.is_authenticated:
        if not wanted.isdigit():
            raise Http404
        return card_get_for_user(user=request.user, card_id=int(wanted))
    return cards[0] if cards else None


def plan_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    cards = list(cards_for_user(user=request.user)) if request.user.is_authenticated else []
    card = _selected_card(request, cards)
    offers = [
        PlanOffer(
            plan=plan,
            price_per_gb_cents=selectors.plan_price_per_gb_cents(plan),
            validity=selectors.plan_validity_label(plan),
            coverage=selectors.plan_coverage(plan),
            preview=card_renewal_preview(
                card=card, duration=plan.duration, add_bytes=plan.data_bytes, start=now
            )
            if card
            else None,
        )
        for plan in selectors.plans_on_sale()
    ]
    context = {
        "offers": offers,
        "cards": cards,
        "selected_card": card,
        "new_esim": card is None,
        "card_is_active": card is not None and card.expires_at is not None and now < card.expires_at,
        "remaining": card.data_remaining_at(now) if card else 0,
        "now": now,
    }
    return render(request, "plans/list.html", context)
