"""An outsider gets 404 on every order URL: they cannot even tell the order exists."""

import pytest
from django.test import Client
from django.urls import reverse

from billing.models import Order

ORDER_URLS = ["order_status", "order_status_json", "order_cancel", "receipt", "demo_checkout"]


@pytest.fixture
def paid_order(owner_client, card, week_plan, demo_mode):
    owner_client.post(reverse("billing:checkout"), {"start_now": "on", "plan": "week", "card": card.pk})
    order = Order.objects.get()
    owner_client.post(reverse("billing:demo_checkout", args=[order.number]), {"outcome": "pay"})
    return order


@pytest.fixture
def pending_order(owner_client, card, week_plan, demo_mode):
    owner_client.post(reverse("billing:checkout"), {"start_now": "on", "plan": "week", "card": card.pk})
    return Order.objects.get()


@pytest.mark.parametrize("name", ORDER_URLS)
def test_an_outsider_gets_404_on_a_paid_order(outsider_client, paid_order, name):
    url = reverse(f"billing:{name}", args=[paid_order.number])

    assert outsider_client.get(url).status_code == 404
    assert outsider_client.post(url, {"outcome": "pay"}).status_code in (404, 405)


@pytest.mark.parametrize("name", ORDER_URLS)
def test_an_outsider_cannot_pay_decline_or_cancel_a_pending_order(outsider_client, pending_order, name):
    url = reverse(f"billing:{name}", args=[pending_order.number])

    assert outsider_client.get(url).status_code == 404
    assert outsider_client.post(url, {"outcome": "decline"}).status_code in (404, 405)
    pending_order.refresh_from_db()
    assert pending_order.status == Order.Status.PENDING


def test_an_outsiders_history_does_not_list_the_order(outsider_client, paid_order):
    assert paid_order.number not in outsider_client.get(reverse("billing:orders")).content.decode()


@pytest.mark.parametrize("name", ORDER_URLS)
def test_an_anonymous_visitor_is_sent_to_log_in(paid_order, name):
    response = Client().get(reverse(f"billing:{name}", args=[paid_order.number]))

    assert response.status_code == 302
    assert "/accounts/login/" in response.url


def test_the_owner_sees_their_receipt(owner_client, paid_order):
    assert owner_client.get(reverse("billing:receipt", args=[paid_order.number])).status_code == 200


def test_an_unpaid_order_has_no_receipt(owner_client, pending_order):
    assert owner_client.get(reverse("billing:receipt", args=[pending_order.number])).status_code == 404
