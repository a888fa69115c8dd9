import pytest
from django.core.management import call_command
from django.utils import translation

from plans.models import Plan
from plans.selectors import plan_price_per_gb_cents, plan_validity_label
from plans.services import plans_seed_catalogue

pytestmark = pytest.mark.django_db


def test_the_catalogue_has_a_day_a_week_and_a_month_plan_with_vat_included_prices():
    plans_seed_catalogue()

    rows = list(
        Plan.objects.order_by("display_order").values_list(
            "period", "data_bytes", "price_cents", "vat_rate_bp"
        )
    )
    assert rows == [
        ("day", 1_000_000_000, 490, 2000),
        ("week", 5_000_000_000, 1490, 2000),
        ("month", 20_000_000_000, 3490, 2000),
    ]
    assert all(plan.currency == "EUR" and plan.is_active for plan in Plan.objects.all())


def test_seeding_twice_changes_nothing_and_keeps_staff_edits():
    plans_seed_catalogue()
    Plan.objects.filter(code="week-5gb").update(price_cents=1290)

    call_command("seed_plans", stdout=None)

    assert Plan.objects.count() == 3
    assert Plan.objects.get(code="week-5gb").price_cents == 1290


@pytest.mark.parametrize(
    ("language", "name"),
    [("en", "Week Pass"), ("zh-hans", "一周畅游"), ("fr", "Pass Semaine"), ("it", "Pass Settimanale")],
)
def test_plan_names_are_translated_into_every_portal_language(language, name):
    plans_seed_catalogue()

    with translation.override(language):
        plan = Plan.objects.get(code="week-5gb")
        assert plan.name == name
        assert plan.description


def test_price_per_gb_rounds_to_the_nearest_cent():
    plans = {plan.code: plan for plan in plans_seed_catalogue()}

    assert plan_price_per_gb_cents(plans["day-1gb"]) == 490
    assert plan_price_per_gb_cents(plans["week-5gb"]) == 298
    assert plan_price_per_gb_cents(plans["month-20gb"]) == 175


def test_validity_reads_as_hours_or_days():
    plans = {plan.code: plan for plan in plans_seed_catalogue()}

    assert plan_validity_label(plans["day-1gb"]) == "24 hours"
    assert plan_validity_label(plans["week-5gb"]) == "7 days"
    assert plan_validity_label(plans["month-20gb"]) == "30 days"
