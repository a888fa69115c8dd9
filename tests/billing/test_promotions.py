"""Promo codes at checkout: validity window, plans, total and per-customer limits."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from billing.models import Order
from billing.selectors import PromotionInvalid
from billing.services import order_close, order_create
from tests.accounts.factories import UserFactory
from tests.billing.factories import PlanFactory, PromotionFactory
from tests.usage.card_factories import OwnedCardFactory


def buy(user, plan, code):
    return order_create(
        user=user, plan=plan, card=OwnedCardFactory(owner=user), now=timezone.now(), promo_code=code
    )


def test_a_code_is_matched_whatever_its_case(owner, week_plan):
    PromotionFactory(code="Riviera", discount_percent=10)

    assert buy(owner, week_plan, "  rIVIERA ").discount_cents == 149


def test_a_fixed_discount_never_exceeds_the_price(owner, week_plan):
    PromotionFactory(code="BIG", discount_percent=None, discount_cents=5000)

    order = buy(owner, week_plan, "BIG")
    order.refresh_from_db()

    assert (order.discount_cents, order.amount_charged_cents, order.status) == (
        1490,
        0,
        Order.Status.FULFILLED,
    )


def test_the_total_limit_is_enforced(owner, outsider, week_plan):
    PromotionFactory(code="FIRST", max_redemptions=1)
    buy(owner, week_plan, "FIRST")

    with pytest.raises(PromotionInvalid, match="used up"):
        buy(outsider, week_plan, "FIRST")
    assert Order.objects.count() == 1


def test_the_per_customer_limit_is_enforced(owner, week_plan):
    PromotionFactory(code="ONCE", max_per_customer=1, max_redemptions=100)
    buy(owner, week_plan, "ONCE")

    with pytest.raises(PromotionInvalid, match="already used"):
        buy(owner, week_plan, "ONCE")


def test_an_unpaid_order_gives_its_redemption_back(owner, outsider, week_plan):
    PromotionFactory(code="FIRST", max_redemptions=1)
    abandoned = buy(owner, week_plan, "FIRST")
    order_close(order_id=abandoned.pk, to=Order.Status.EXPIRED, now=timezone.now())

    assert buy(outsider, week_plan, "FIRST").promotion_code == "FIRST"


def test_a_code_for_other_plans_is_refused(owner, week_plan):
    month = PlanFactory(code="month", period="month")
    promotion = PromotionFactory(code="MONTHLY")
    promotion.plans.add(month)

    with pytest.raises(PromotionInvalid, match="does not apply to this plan"):
        buy(owner, week_plan, "MONTHLY")


@pytest.mark.parametrize(
    ("starts", "ends", "message"),
    [
        (timedelta(days=1), timedelta(days=2), "not valid yet"),
        (timedelta(days=-3), timedelta(days=-1), "expired"),
    ],
)
def test_a_code_outside_its_window_is_refused(owner, week_plan, starts, ends, message):
    now = timezone.now()
    PromotionFactory(code="WINDOW", valid_from=now + starts, valid_until=now + ends)

    with pytest.raises(PromotionInvalid, match=message):
        buy(owner, week_plan, "WINDOW")


def test_an_unknown_or_disabled_code_is_refused(owner, week_plan):
    PromotionFactory(code="OFF", is_active=False)

    for code in ("NOPE", "OFF"):
        with pytest.raises(PromotionInvalid, match="does not exist"):
            buy(owner, week_plan, code)


def test_many_customers_race_for_the_last_redemptions(week_plan):
    PromotionFactory(code="FIVE", max_redemptions=5, max_per_customer=1)
    outcomes = []
    for _ in range(8):
        try:
            buy(UserFactory(), week_plan, "FIVE")
            outcomes.append("ok")
        except PromotionInvalid:
            outcomes.append("refused")

    assert outcomes.count("ok") == 5
    assert Order.objects.filter(promotion__code="FIVE").count() == 5


def test_the_reason_a_code_is_refused_is_read_in_the_customers_language(owner, week_plan):
    with pytest.raises(PromotionInvalid) as refused:
        buy(owner, week_plan, "NOPE")

    # Lazy: rendered in the language active where it is shown.
    with translation.override("fr"):
        assert (
            str(refused.value.args[0]) == "Ce code promo n'existe pas. Vérifiez l'orthographe et réessayez."
        )
    with translation.override("en"):
        assert (
            str(refused.value.args[0]) == "This promo code does not exist. Check the spelling and try again."
        )
