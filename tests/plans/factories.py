"""Plan and promotion factories (owned by the cards engineer)."""

from datetime import timedelta

import factory
from django.utils import timezone

from plans.models import Plan, Promotion


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"plan-{n}")
    name_en = factory.Sequence(lambda n: f"Plan {n}")
    period = Plan.Period.WEEK
    data_bytes = 5_000_000_000
    price_cents = 1490


class PromotionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Promotion

    code = factory.Sequence(lambda n: f"RIVIERA{n}")
    discount_percent = 10
    valid_from = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    valid_until = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))
