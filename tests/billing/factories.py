"""Factories for the billing tests (owned by the billing engineer)."""

from datetime import timedelta

import factory
from django.utils import timezone

from plans.models import Plan, Promotion

GB = 1_000_000_000


class PlanFactory(factory.django.DjangoModelFactory):
    """The week plan: 5 GB for 7 days, €14.90 with 20 % VAT included."""

    class Meta:
        model = Plan
        django_get_or_create = ("code",)

    code = "week"
    name = "Week 5 GB"
    period = Plan.Period.WEEK
    data_bytes = 5 * GB
    price_cents = 1490
    currency = "EUR"
    vat_rate_bp = 2000
    is_active = True


class PromotionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Promotion

    code = factory.Sequence(lambda n: f"RIVIERA{n}")
    discount_percent = 20
    valid_from = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    valid_until = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))
    max_redemptions = None
    max_per_customer = 1
