"""Every customer write is rate-limited, per account and per client, per hour and per day."""

import pytest
from django.urls import reverse

from support.models import Ticket, TicketMessage
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(client):
    user = UserFactory(email="writer@example.com", phone="+377612345678", phone_verified=True)
    client.force_login(user)
    return user


def test_twenty_five_long_ticket_replies_in_a_row_are_stopped_at_ten(client, customer):
    ticket = Ticket.objects.create(user=customer, topic=Ticket.Topic.OTHER)
    url = reverse("support:ticket_detail", args=[ticket.pk])

    statuses = [client.post(url, {"body": "x" * 5000}).status_code for _ in range(25)]

    assert statuses[:10] == [302] * 10
    assert set(statuses[10:]) == {429}
    assert TicketMessage.objects.filter(ticket=ticket).count() == 10
    assert "Too many requests" in client.post(url, {"body": "again"}).content.decode()


def test_another_customer_on_the_same_address_can_still_write(client, customer):
    ticket = Ticket.objects.create(user=customer, topic=Ticket.Topic.OTHER)
    for _ in range(11):
        client.post(reverse("support:ticket_detail", args=[ticket.pk]), {"body": "hello"})
    neighbour = UserFactory(email="neighbour@example.com")
    client.force_login(neighbour)
    theirs = Ticket.objects.create(user=neighbour, topic=Ticket.Topic.OTHER)

    assert client.post(reverse("support:ticket_detail", args=[theirs.pk]), {"body": "hi"}).status_code == 302


def test_every_other_form_has_a_ceiling_too(client, customer, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "customer_write": "3/h/user,5/d/user"}
    url = reverse("accounts:set_language")

    statuses = [client.post(url, {"language": "fr", "next": "/"}).status_code for _ in range(4)]

    assert statuses == [302, 302, 302, 429]


def test_anonymous_writes_have_a_ceiling_per_address(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "anonymous_write": "2/h/ip,5/d/ip"}
    url = reverse("accounts:set_language")

    statuses = [client.post(url, {"language": "fr", "next": "/"}).status_code for _ in range(3)]

    assert statuses == [302, 302, 429]


def test_the_machine_endpoints_are_not_counted_as_writes(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "anonymous_write": "1/h/ip,1/d/ip"}

    statuses = [
        client.post(reverse("billing:stripe_webhook"), b"{}", content_type="application/json").status_code
        for _ in range(3)
    ]

    assert 429 not in statuses


def test_pdf_downloads_are_limited_although_they_are_gets(client, settings):
    """allauth's own consume() ignores GET requests; the portal's helper counts them."""
    from tests.support.factories import OrderFactory

    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "document_pdf": "2/h/user,5/d/user"}
    owner = UserFactory(email="pdf@example.com")
    order = OrderFactory(customer=owner)
    client.force_login(owner)
    url = reverse("billing:receipt_pdf", args=[order.number])

    statuses = [client.get(url).status_code for _ in range(3)]

    assert statuses[:2] == [200, 200]
    assert statuses[2] in (302, 429)
