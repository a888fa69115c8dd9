import pytest
from django.core import mail
from django.urls import reverse

from audit.models import AuditEntry
from support.models import Ticket
from tests.support.factories import CardFactory, OrderFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def traveller(db):
    return UserFactory(email="li@example.com", name="李小龙", language="zh-hans")


@pytest.fixture
def stranger(db):
    return UserFactory(email="stranger@example.com", language="fr")


@pytest.fixture
def traveller_client(client, traveller):
    client.force_login(traveller)
    return client


def open_ticket(client, **data):
    return client.post(
        reverse("support:ticket_new"), {"topic": "renewal", "body": "My card is not renewed", **data}
    )


def test_a_traveller_opens_a_ticket_about_their_own_order_and_sees_its_renewal_state(
    traveller_client, traveller
):
    order = OrderFactory(customer=traveller, status="paid", fulfilled_at=None)
    response = open_ticket(traveller_client, order=order.number, card=order.card.pk)
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert (ticket.user, ticket.order, ticket.card) == (traveller, order, order.card)
    page = traveller_client.get(response["Location"]).content.decode()
    assert "My card is not renewed" in page
    assert order.number in page
    assert "renewal-state" in page


def test_a_traveller_cannot_attach_someone_elses_card_or_order(traveller_client, stranger):
    other_order = OrderFactory(customer=stranger)
    response = open_ticket(traveller_client, order=other_order.number)
    assert response.status_code == 200
    response = open_ticket(traveller_client, card=other_order.card.pk)
    assert response.status_code == 200
    assert not Ticket.objects.exists()
    assert (
        traveller_client.get(reverse("support:ticket_new"), {"order": other_order.number}).status_code == 404
    )
    assert (
        traveller_client.get(reverse("support:ticket_new"), {"card": other_order.card.pk}).status_code == 404
    )


def test_contact_support_needs_a_login(client):
    response = client.get(reverse("support:ticket_new"))
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_someone_elses_ticket_is_not_found(client, traveller, stranger):
    ticket = Ticket.objects.create(user=traveller, topic="other")
    client.force_login(stranger)
    assert client.get(reverse("support:ticket_detail", args=[ticket.pk])).status_code == 404
    assert client.post(reverse("support:ticket_detail", args=[ticket.pk]), {"body": "hi"}).status_code == 404
    assert ticket.messages.count() == 0
    assert (
        reverse("support:ticket_detail", args=[ticket.pk])
        not in client.get(reverse("support:ticket_list")).content.decode()
    )


def test_the_answer_reaches_its_traveller_by_email_in_their_language_and_on_the_page(
    traveller_client, client, traveller, stranger, support_agent
):
    open_ticket(traveller_client)
    ticket = Ticket.objects.get()
    open_ticket_for_stranger = Ticket.objects.create(user=stranger, topic="other")

    staff = client.__class__()
    staff.force_login(support_agent)
    change_url = reverse("admin:support_ticket_change", args=[ticket.pk])
    admin_page = staff.get(change_url).content.decode()
    assert "My card is not renewed" in admin_page
    assert traveller.email in admin_page  # the customer's data next to the ticket

    response = staff.post(
        change_url,
        {
            "status": "open",
            "answer": "Your card was renewed at 14:05.",
            "messages-TOTAL_FORMS": 0,
            "messages-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [traveller.email]
    assert "Your card was renewed at 14:05." in message.body
    assert reverse("support:ticket_detail", args=[ticket.pk]) in message.body
    assert f"#{ticket.pk}" in message.subject

    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.ANSWERED
    page = traveller_client.get(reverse("support:ticket_detail", args=[ticket.pk])).content.decode()
    assert "Your card was renewed at 14:05." in page
    assert open_ticket_for_stranger.messages.count() == 0
    assert AuditEntry.objects.filter(action="ticket_answer", object_id=str(ticket.pk)).count() == 1


def test_the_answer_email_is_rendered_in_the_travellers_language(traveller):
    from notices.models import Notification
    from notices.services import notice_render
    from support.services import ticket_answer, ticket_open

    ticket = ticket_open(user=traveller, topic="other", body="?")
    ticket_answer(ticket=ticket, staff_user=None, body="OK")
    notice = Notification.objects.get(kind="ticket_answer")
    assert notice.language == "zh-hans"
    assert notice.recipient == traveller.email
    rendered = notice_render(notification=notice)
    assert "OK" in rendered["body"]
    assert f"#{ticket.pk}" in rendered["subject"]


def test_a_reply_reopens_the_ticket_for_support(traveller_client, traveller):
    open_ticket(traveller_client)
    ticket = Ticket.objects.get()
    Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.ANSWERED)
    traveller_client.post(reverse("support:ticket_detail", args=[ticket.pk]), {"body": "Still broken"})
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN
    assert list(ticket.messages.values_list("body", flat=True)) == ["My card is not renewed", "Still broken"]


def test_my_requests_lists_only_my_tickets(traveller_client, traveller, stranger):
    mine = Ticket.objects.create(user=traveller, topic="payment")
    theirs = Ticket.objects.create(user=stranger, topic="usage")
    page = traveller_client.get(reverse("support:ticket_list")).content.decode()
    assert reverse("support:ticket_detail", args=[mine.pk]) in page
    assert reverse("support:ticket_detail", args=[theirs.pk]) not in page


def test_a_card_preselected_from_a_link_must_be_the_travellers(traveller_client, traveller):
    card = CardFactory(owner=traveller)
    response = traveller_client.get(reverse("support:ticket_new"), {"card": card.pk})
    assert response.status_code == 200
    assert response.context["form"].initial["card"] == card


def test_a_burst_of_new_tickets_is_refused_with_a_message(traveller_client):
    for _ in range(5):
        assert open_ticket(traveller_client).status_code == 302
    response = open_ticket(traveller_client)
    assert response.status_code == 200
    errors = response.context["form"].non_field_errors()
    assert len(errors) == 1
    assert errors[0] in response.content.decode()
    assert Ticket.objects.count() == 5
