import factory
from django.contrib.auth import get_user_model


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"traveller{n}@example.com")
    phone = None
    phone_verified = False
    name = factory.Faker("name")
    language = "en"
    password = factory.django.Password("correct horse battery")


class OrderFactory(factory.django.DjangoModelFactory):
    """A fulfilled week-plan order, with the snapshot of who paid that finance keeps."""

    class Meta:
        model = "billing.Order"

    customer = factory.SubFactory(UserFactory)
    card = factory.SubFactory(
        "tests.usage.card_factories.OwnedCardFactory", owner=factory.SelfAttribute("..customer")
    )
    plan = factory.SubFactory("tests.billing.factories.PlanFactory")
    number = factory.Sequence(lambda n: f"MC-2026-{n + 900_000:06d}")
    plan_code = factory.SelfAttribute("plan.code")
    plan_name = factory.SelfAttribute("plan.name")
    plan_period = factory.SelfAttribute("plan.period")
    plan_duration_seconds = 7 * 24 * 3600
    plan_data_bytes = factory.SelfAttribute("plan.data_bytes")
    list_price_cents = factory.SelfAttribute("plan.price_cents")
    vat_rate_bp = factory.SelfAttribute("plan.vat_rate_bp")
    amount_charged_cents = factory.SelfAttribute("plan.price_cents")
    status = "fulfilled"
    customer_email = factory.SelfAttribute("customer.email")
    customer_phone = factory.LazyAttribute(lambda order: order.customer.phone or "")
