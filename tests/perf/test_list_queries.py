"""Issue 14 (3): every traveller list page is paginated and costs the same number of queries with
one row as with thirty (the orders list once made 204 queries for 200 orders)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.models import Order, Refund, Wallet, WalletEntry
from support.models import Ticket
from tests.support.factories import OrderFactory, RefundFactory
from tests.usage.card_factories import OwnedCardFactory, usage_entry
from usage.models import LedgerEntry, UsageRecord

pytestmark = pytest.mark.django_db
START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
STATUSES = [Order.Status.FULFILLED, Order.Status.PENDING, Order.Status.REFUNDED, Order.Status.PAID]


def orders_add(user, card, count: int) -> list[Order]:
    """Fulfilled ones with their top-up, refunded ones with a refund, pending and paid ones."""
    orders = []
    for number in range(count):
        status = STATUSES[number % len(STATUSES)]
        order = OrderFactory(
            customer=user,
            card=card,
            status=status,
            created_at=START + timedelta(hours=number),
            fulfilled_at=START + timedelta(hours=number) if status != Order.Status.PENDING else None,
        )
        if order.fulfilled_at:
            LedgerEntry.objects.create(
                card=card,
                kind=LedgerEntry.Kind.TOPUP,
                order_id=order.pk,
                data_delta=5_000_000_000,
                data_after=5_000_000_000,
                expires_before=None,
                expires_after=START + timedelta(days=7, hours=number),
            )
        if status == Order.Status.REFUNDED:
            RefundFactory(order=order, amount_cents=order.amount_charged_cents)
        orders.append(order)
    return orders


def wallet_entries_add(user, count: int) -> None:
    wallet, _ = Wallet.objects.get_or_create(user=user)
    for number in range(count):
        order = OrderFactory(customer=user, card__owner=user) if number % 2 else None
        WalletEntry.objects.create(
            wallet=wallet,
            kind=WalletEntry.Kind.REFUND if order else WalletEntry.Kind.GOODWILL,
            amount_cents=100,
            balance_after_cents=100 * (number + 1),
            order=order,
            reason="test",
        )


def tickets_add(user, card, count: int) -> None:
    for number in range(count):
        Ticket.objects.create(
            user=user,
            topic=Ticket.Topic.RENEWAL if number % 2 else Ticket.Topic.OTHER,
            card=card if number % 2 else None,
            order=OrderFactory(customer=user, card=card) if number % 3 == 0 else None,
            updated_at=START + timedelta(hours=number),
        )


def usage_add(card, count: int) -> None:
    entry = usage_entry(card)
    UsageRecord.objects.bulk_create(
        UsageRecord(
            record_id=f"{card.pk}-{number}",
            card=card,
            ledger_entry=entry,
            start=START + timedelta(hours=number),
            end=START + timedelta(hours=number, minutes=30),
            bytes=1_000_000,
        )
        for number in range(count)
    )


def queries_of(client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content.decode()


LISTS = {
    "orders": (
        lambda user, card, count: orders_add(user, card, count),
        lambda card: reverse("billing:orders"),
    ),
    "balance history": (
        lambda user, card, count: wallet_entries_add(user, count),
        lambda card: reverse("billing:wallet"),
    ),
    "support requests": (tickets_add, lambda card: reverse("support:ticket_list")),
    "usage records": (
        lambda user, card, count: usage_add(card, count),
        lambda card: reverse("usage:card_detail", args=[card.pk]),
    ),
}


@pytest.fixture
def traveller(django_user_model):
    from tests.support.factories import UserFactory

    return UserFactory()


@pytest.mark.parametrize("name", LISTS)
def test_a_list_costs_as_many_queries_with_thirty_rows_as_with_one(
    client, traveller, django_user_model, name
):
    add, url_of = LISTS[name]
    from tests.support.factories import UserFactory

    single = UserFactory()
    single_card = OwnedCardFactory(owner=single)
    add(single, single_card, 1)
    card = OwnedCardFactory(owner=traveller)
    add(traveller, card, 30)

    client.force_login(single)
    queries_of(client, url_of(single_card))  # the first page view keeps the language in the session
    one, _ = queries_of(client, url_of(single_card))
    client.force_login(traveller)
    queries_of(client, url_of(card))
    thirty, page = queries_of(client, url_of(card))

    assert one == thirty, name
    assert "Page 1 of 2" in page


def test_the_orders_list_shows_twenty_orders_a_page_newest_first_and_the_rest_on_the_next(client, traveller):
    card = OwnedCardFactory(owner=traveller)
    orders = orders_add(traveller, card, 30)
    client.force_login(traveller)

    first = client.get(reverse("billing:orders")).content.decode()
    second = client.get(reverse("billing:orders"), {"page": "2"}).content.decode()

    newest_first = [order.number for order in reversed(orders)]
    assert [number for number in newest_first if number in first] == newest_first[:20]
    assert [number for number in newest_first if number in second] == newest_first[20:]
    assert 'href="?page=2" rel="next"' in first
    assert 'href="?page=1" rel="prev"' in second
    assert "Page 2 of 2" in second


def test_a_page_number_that_is_not_a_page_shows_a_page_and_never_an_error(client, traveller):
    card = OwnedCardFactory(owner=traveller)
    orders_add(traveller, card, 3)
    client.force_login(traveller)

    for number in ("0", "99", "abc", ""):
        response = client.get(reverse("billing:orders"), {"page": number})
        assert response.status_code == 200
        assert "MC-2026-" in response.content.decode()


def test_the_pages_of_a_list_never_show_another_travellers_rows(client, traveller, outsider):
    orders_add(traveller, OwnedCardFactory(owner=traveller), 25)
    client.force_login(outsider)

    page = client.get(reverse("billing:orders"), {"page": "2"}).content.decode()

    assert "MC-2026-" not in page
    assert "No orders yet" in page


def test_a_card_pages_its_usage_records_and_its_changes_apart(client, traveller):
    card = OwnedCardFactory(owner=traveller)
    usage_add(card, 25)
    client.force_login(traveller)

    page = client.get(reverse("usage:card_detail", args=[card.pk]), {"usage": "2"}).content.decode()

    assert 'href="?usage=1" rel="prev"' in page
    assert page.count('data-label="Data used"') == 5


def test_the_refund_shown_on_a_refunded_order_is_its_own(client, traveller):
    card = OwnedCardFactory(owner=traveller)
    orders_add(traveller, card, 4)
    client.force_login(traveller)
    assert Refund.objects.filter(order__customer=traveller).count() == 1

    page = client.get(reverse("billing:orders")).content.decode()

    assert "Refunded" in page
