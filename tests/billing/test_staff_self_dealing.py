"""Staff cannot act on their own customer account, and goodwill has caps (issue: support credited
itself EUR 500 three times and bought a plan with it)."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from audit.models import AuditEntry
from billing.models import Refund, Wallet, WalletEntry
from tests.fixtures.mfa import totp_enrol
from tests.support.factories import CardFactory, OrderFactory, UserFactory, staff_user

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def goodwill(client, customer, amount: str):
    return client.post(
        reverse("admin:accounts_user_staff_action", args=[customer.pk, "goodwill"]),
        {"amount": amount, "reason": "Sorry for the wait"},
    )


@pytest.fixture
def agent():
    return staff_user("support", email="agent@example.com")


def test_support_cannot_credit_itself(agent):
    response = goodwill(signed_in(agent), agent, "500.00")

    assert response.status_code == 200
    assert "your own customer account" in response.content.decode()
    assert not WalletEntry.objects.exists()
    assert Wallet.objects.filter(user=agent, balance_cents__gt=0).count() == 0


def test_support_cannot_refund_its_own_order(agent):
    order = OrderFactory(customer=agent, card=CardFactory(owner=agent))

    response = signed_in(agent).post(
        reverse("admin:billing_order_staff_action", args=[order.pk, "refund"]),
        {"amount": "19.90", "destination": "wallet", "reason": "Mine"},
    )

    assert response.status_code == 200
    assert "your own customer account" in response.content.decode()
    assert not Refund.objects.exists()


def test_support_cannot_adjust_its_own_card(agent):
    card = CardFactory(owner=agent, data_remaining=0)

    response = signed_in(agent).post(
        reverse("admin:usage_card_staff_action", args=[card.pk, "adjust"]),
        {"data_gb": "50", "reason": "Mine"},
    )

    assert response.status_code == 200
    card.refresh_from_db()
    assert card.data_remaining == 0


def test_goodwill_above_the_per_credit_cap_needs_an_administrator(agent):
    customer = UserFactory()

    refused = goodwill(signed_in(agent), customer, "50.01")
    admin = totp_enrol(UserFactory(email="root@example.com", is_staff=True, is_superuser=True))
    made = goodwill(signed_in(admin), customer, "120.00")

    assert refused.status_code == 200
    assert "needs an administrator" in refused.content.decode()
    assert made.status_code == 302
    assert list(WalletEntry.objects.values_list("amount_cents", "staff_user")) == [(12000, admin.pk)]
    assert AuditEntry.objects.filter(action="wallet_credit", actor=admin).count() == 1


def test_goodwill_per_agent_per_day_is_capped_and_starts_again_the_next_monaco_day(agent):
    client = signed_in(agent)
    customers = [UserFactory() for _ in range(5)]
    statuses = [goodwill(client, customer, "50.00").status_code for customer in customers]

    assert statuses == [302, 302, 302, 302, 200]  # 200 EUR a day
    assert sum(WalletEntry.objects.values_list("amount_cents", flat=True)) == 20000
    assert "limit is" in goodwill(client, customers[4], "1.00").content.decode()
    with time_machine.travel(datetime(2026, 11, 25, 23, 5, tzinfo=UTC), tick=False):  # 00:05 in Monaco
        assert goodwill(signed_in(agent), customers[4], "50.00").status_code == 302
