from datetime import timedelta

import pytest
from django.utils import timezone, translation

from plans.selectors import PromotionInvalid, promotion_validate
from tests.plans.factories import PlanFactory, PromotionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def week():
    return PlanFactory(code="week-5gb")


def validate(code, plan, customer, **kwargs):
    return promotion_validate(code=code, plan=plan, customer=customer, now=timezone.now(), **kwargs)


def test_a_current_code_is_accepted_whatever_its_case(week, owner):
    promotion = PromotionFactory(code="RIVIERA10")
    assert validate(" riviera10 ", week, owner) == promotion


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ({"code": "OTHER"}, "This promo code is not valid."),
        ({"is_active": False}, "This promo code is not valid."),
        ({"valid_from_days": 2, "valid_until_days": 5}, "This promo code is not valid yet."),
        ({"valid_from_days": -10, "valid_until_days": -1}, "This promo code has expired."),
    ],
)
def test_unknown_inactive_early_and_expired_codes_are_refused_with_a_reason(week, owner, setup, message):
    now = timezone.now()
    PromotionFactory(
        code=setup.get("code", "RIVIERA10"),
        is_active=setup.get("is_active", True),
        valid_from=now + timedelta(days=setup.get("valid_from_days", -1)),
        valid_until=now + timedelta(days=setup.get("valid_until_days", 30)),
    )

    with pytest.raises(PromotionInvalid) as refused:
        validate("RIVIERA10", week, owner)

    assert str(refused.value.args[0]) == message


def test_a_code_for_other_plans_is_refused_for_this_one(week, owner):
    month = PlanFactory(code="month-20gb", period="month")
    promotion = PromotionFactory(code="MONTHLY")
    promotion.plans.add(month)

    assert validate("MONTHLY", month, owner) == promotion
    with pytest.raises(PromotionInvalid, match="cannot be used with this plan"):
        validate("MONTHLY", week, owner)


def test_redemption_limits_are_checked_with_the_counts_billing_provides(week, owner):
    PromotionFactory(code="FIRST100", max_redemptions=100, max_per_customer=1)

    assert validate("FIRST100", week, owner, count_redemptions=lambda promotion, customer: (99, 0))
    with pytest.raises(PromotionInvalid, match="fully used"):
        validate("FIRST100", week, owner, count_redemptions=lambda promotion, customer: (100, 0))
    with pytest.raises(PromotionInvalid, match="already used"):
        validate("FIRST100", week, owner, count_redemptions=lambda promotion, customer: (5, 1))


def test_the_reason_is_translated(week, owner):
    with translation.override("fr"), pytest.raises(PromotionInvalid) as refused:
        validate("NOPE", week, owner)
    # Lazy: rendered in the language active where it is shown.
    with translation.override("en"):
        assert str(refused.value.args[0]) == "This promo code is not valid."
