"""Factories for the support desk and finance tests (tests/support, tests/finance)."""

from datetime import UTC, datetime, timedelta

import factory
from django.contrib.auth.models import Group, Permission

from accounts.models import User
from billing.models import Order, Refund, Wallet
from plans.models import Plan
from usage.iccid import iccid_with_check_digit
from usage.models import Card

GB = 1_000_000_000


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"traveller{n}@example.com")
    name = factory.Sequence(lambda n: f"Traveller {n}")
    password = factory.django.Password("correct horse battery")

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        if create and extracted:
            for name in extracted:
                self.groups.add(Group.objects.get(name=name))
            self.save()


# Models that changed app since support.0002 created the groups: their content type (so the
# permission the group holds) moved with them (e.g. notices.0001).
MOVED_SINCE_STAFF_GROUPS = {
    ("accounts", "view_notification"): "notices",
    ("support", "view_auditentry"): "audit",
}


def ensure_staff_groups() -> None:
    """Transactional tests empty every table, data-migration rows included: put the groups back."""
    if Group.objects.filter(name__in=["support", "finance"]).count() == 2:
        return
    from importlib import import_module

    migration = import_module("support.migrations.0002_staff_groups")
    for name, grants in (("support", migration.SUPPORT), ("finance", migration.FINANCE)):
        group, _ = Group.objects.get_or_create(name=name)
        wanted = [
            Permission.objects.get(
                content_type__app_label=MOVED_SINCE_STAFF_GROUPS.get((app_label, codename), app_label),
                codename=codename,
            )
            for app_label, codenames in grants.items()
            for codename in codenames
        ]
        group.permissions.set(wanted)
    # Grants that later migrations added to the groups.
    for later in ("0004_invoice_permissions", "0006_withdrawal_permissions"):
        for name, codenames in import_module(f"billing.migrations.{later}").GRANTS.items():
            Group.objects.get(name=name).permissions.add(
                *Permission.objects.filter(content_type__app_label="billing", codename__in=codenames)
            )


def staff_user(group: str, **kwargs) -> User:
    """A staff member with an authenticator set up, as every staff member must have (allauth.mfa)."""
    from tests.fixtures.mfa import totp_enrol

    ensure_staff_groups()
    user = UserFactory(is_staff=True, groups=[group], **kwargs)
    user.save()
    return totp_enrol(user)


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan
        django_get_or_create = ("code",)

    code = "week-5gb"
    name = "Week 5 GB"
    period = Plan.Period.WEEK
    data_bytes = 5 * GB
    price_cents = 1990
    vat_rate_bp = 2000


class CardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Card

    iccid = factory.Sequence(lambda n: iccid_with_check_digit(f"893770001{n:010d}"))
    owner = factory.SubFactory(UserFactory)


class OrderFactory(factory.django.DjangoModelFactory):
    """A fulfilled order by default; amounts always add up (list - discount - wallet = charged)."""

    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"MC-2026-{n + 1:06d}")
    customer = factory.SubFactory(UserFactory)
    card = factory.SubFactory(CardFactory, owner=factory.SelfAttribute("..customer"))
    plan = factory.SubFactory(PlanFactory)
    plan_code = factory.SelfAttribute("plan.code")
    plan_name = factory.SelfAttribute("plan.name")
    plan_period = factory.SelfAttribute("plan.period")
    plan_duration_seconds = 7 * 24 * 3600
    plan_data_bytes = factory.SelfAttribute("plan.data_bytes")
    list_price_cents = factory.SelfAttribute("plan.price_cents")
    vat_rate_bp = factory.SelfAttribute("plan.vat_rate_bp")
    discount_cents = 0
    wallet_applied_cents = 0
    amount_charged_cents = factory.LazyAttribute(
        lambda o: o.list_price_cents - o.discount_cents - o.wallet_applied_cents
    )
    status = Order.Status.FULFILLED
    created_at = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    paid_at = factory.LazyAttribute(
        lambda o: o.created_at + timedelta(minutes=1) if o.status != "pending" else None
    )
    fulfilled_at = factory.LazyAttribute(lambda o: o.paid_at if o.status == "fulfilled" else None)
    payment_method_type = "card"
    stripe_payment_intent_id = factory.Sequence(lambda n: f"pi_test_{n:08d}")
    stripe_checkout_session_id = factory.Sequence(lambda n: f"cs_test_{n:08d}")
    customer_email = factory.SelfAttribute("customer.email")


class RefundFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Refund

    order = factory.SubFactory(OrderFactory)
    amount_cents = 500
    destination = Refund.Destination.ORIGINAL_METHOD
    created_at = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    status = Refund.Status.SUCCEEDED
    succeeded_at = factory.SelfAttribute("created_at")


def wallet_with(user, cents: int) -> Wallet:
    wallet, _ = Wallet.objects.get_or_create(user=user)
    wallet.balance_cents = cents
    wallet.save()
    return wallet
