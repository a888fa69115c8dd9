"""Abuse tests: hostile input, every URL as every role, brute force, headers.

Hypothesis runs a fixed number of examples per target (FUZZ_EXAMPLES) so the whole folder stays fast;
raise it locally with ABUSE_FUZZ_EXAMPLES=500 for a deeper search.
"""

import os

import pytest
from django.test import Client
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from notices import sms

FUZZ_EXAMPLES = int(os.environ.get("ABUSE_FUZZ_EXAMPLES", "30"))
# The suite is a landing gate, so it draws the same examples every run; ABUSE_FUZZ_RANDOM=1 explores
# new ones (run it with a larger ABUSE_FUZZ_EXAMPLES when hunting bugs).
FUZZ_RANDOM = os.environ.get("ABUSE_FUZZ_RANDOM") == "1"

settings.register_profile(
    "abuse",
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    database=None,
    derandomize=not FUZZ_RANDOM,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
fuzz = settings.get_profile("abuse")

# Text a hostile or careless client sends: NUL bytes, lone surrogates are sent as raw bytes elsewhere,
# right-to-left overrides, emoji, combining marks, very long strings.
ODD_PIECES = [
    "\x00",
    "\u202e",
    "\u200f",
    "\ufeff",
    "🇲🇨",
    "👩‍👩‍👧",
    "e\u0301",
    "'; DROP TABLE accounts_user; --",
    "<script>alert(1)</script>",
    "%00",
    "../../etc/passwd",
    "{{ 7*7 }}",
    "\r\n",
    "\uff11\uff12\uff13",  # full-width digits
    "٣",
    "x" * 5000,
]
odd_text = st.one_of(
    st.text(max_size=60),
    st.sampled_from(ODD_PIECES),
    st.lists(st.sampled_from(ODD_PIECES) | st.text(max_size=8), max_size=6).map("".join),
)
odd_number = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from(["-1", "0", "1e309", "NaN", "inf", "-0", "9" * 400, "0x10", "1_000", " 1 ", "١٢"]),
    st.floats(allow_nan=True, allow_infinity=True),
)
odd_scalar = st.one_of(st.none(), st.booleans(), odd_number, odd_text)
odd_json = st.recursive(
    odd_scalar,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


@pytest.fixture
def sms_outbox():
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


def client_for(user) -> Client:
    browser = Client()
    if user is not None:
        browser.force_login(user)
    return browser


@pytest.fixture
def world(db, settings):
    """Two customers with the same kinds of things, plus support and finance staff and a superuser.

    Every id a URL can take has one object of the owner and one of the other customer.
    """
    from datetime import timedelta
    from types import SimpleNamespace

    from django.utils import timezone

    from billing.models import Order
    from support.models import ExportJob, Ticket, TicketMessage
    from tests.billing.factories import PlanFactory, PromotionFactory
    from tests.support.factories import OrderFactory, UserFactory, staff_user
    from tests.usage.card_factories import InventoryCardFactory, OwnedCardFactory

    settings.PAYMENTS_DEMO_MODE = True
    settings.STRIPE_SECRET_KEY = ""
    plan = PlanFactory()
    promotion = PromotionFactory(code="RIVIERA")
    now = timezone.now()

    def customer(email: str, phone: str):
        user = UserFactory(email=email, phone=phone, phone_verified=True, name=email.split("@")[0])
        card = OwnedCardFactory(owner=user, label="")
        paid = OrderFactory(customer=user, card=card, plan=plan, created_at=now - timedelta(days=1))
        pending = OrderFactory(
            customer=user, card=card, plan=plan, status=Order.Status.PENDING, created_at=now, paid_at=None
        )
        ticket = Ticket.objects.create(user=user, topic=Ticket.Topic.OTHER)
        TicketMessage.objects.create(ticket=ticket, author=user, body="Hello")
        return SimpleNamespace(user=user, card=card, paid=paid, pending=pending, ticket=ticket)

    owner = customer("owner@example.com", "+37761234567")
    other = customer("other@example.com", "+33612345678")
    support = staff_user("support", email="agent@example.com")
    finance = staff_user("finance", email="money@example.com")
    admin = UserFactory(email="root@example.com", is_staff=True, is_superuser=True)

    def export_job(user):
        return ExportJob.objects.create(
            user=user,
            params={"start": "2026-11-01", "end": "2026-11-25", "statuses": []},
            file_format="csv",
            expires_at=now + timedelta(days=1),
        )

    return SimpleNamespace(
        plan=plan,
        promotion=promotion,
        owner=owner,
        other=other,
        support=support,
        finance=finance,
        admin=admin,
        finance_job=export_job(finance),
        other_finance_job=export_job(admin),
        spare_card=InventoryCardFactory(),
    )
