import pytest
from django.urls import reverse

from billing.models import Refund
from tests.support.factories import CardFactory, OrderFactory, RefundFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def carla(customer):
    card = CardFactory(owner=customer, iccid="8937700010000000007")
    OrderFactory(
        customer=customer,
        card=card,
        number="MC-2026-000123",
        stripe_payment_intent_id="pi_3CarlaIntent",
        stripe_checkout_session_id="cs_test_carla",
    )
    return customer


@pytest.fixture
def someone_else(db):
    other = UserFactory(email="zed@example.org", phone="+33612345678", name="Zed Martin")
    OrderFactory(customer=other)
    return other


def search(client, term):
    response = client.get(reverse("admin:accounts_user_changelist"), {"q": term})
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


@pytest.mark.parametrize(
    "term",
    [
        "carla@example.com",
        "CARLA@EXAMPLE",
        "+37761234567",
        "+377 6 12 34 56 7",
        "00377 61 23 45 67",
        "Carla Rossi",
        "rossi",
        "8937700010000000007",
        "8937 7000 1000 0000 007",
        "MC-2026-000123",
        "pi_3CarlaIntent",
        "cs_test_carla",
    ],
)
def test_one_search_box_finds_the_customer_by_each_key(agent_client, carla, someone_else, term):
    assert search(agent_client, term) == [carla]


def test_it_finds_a_customer_by_a_stripe_refund_id(agent_client, carla, someone_else):
    RefundFactory(
        order=carla.orders.get(), stripe_refund_id="re_carla1", destination=Refund.Destination.ORIGINAL_METHOD
    )
    assert search(agent_client, "re_carla1") == [carla]


def test_a_national_phone_format_uses_monaco_as_the_default_region(agent_client, db):
    monaco = UserFactory(phone="+37793151234")
    assert search(agent_client, "93 15 12 34") == [monaco]


def test_an_unknown_term_finds_nobody(agent_client, carla, someone_else):
    assert search(agent_client, "nobody@nowhere.test") == []
