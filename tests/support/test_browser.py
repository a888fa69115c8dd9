"""A traveller contacts support from a phone and reads the answer (Chromium, real CSP)."""

import pytest
from allauth.account.models import EmailAddress
from django.utils import timezone

from support.models import Ticket
from support.services import ticket_answer
from tests.support.factories import OrderFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_traveller_writes_to_support_about_an_order_and_reads_the_answer(
    phone_page, login_with_password, screenshot
):
    traveller = UserFactory(email="lea@example.com", name="Léa")
    EmailAddress.objects.create(user=traveller, email=traveller.email, verified=True, primary=True)
    order = OrderFactory(customer=traveller, status="paid", fulfilled_at=None, created_at=timezone.now())
    login_with_password(phone_page, login=traveller.email, password="correct horse battery")

    phone_page.goto("/support/new/")
    phone_page.select_option("select[name=topic]", "renewal")
    phone_page.select_option("select[name=order]", order.number)
    phone_page.fill("textarea[name=body]", "I paid but my card still shows the old expiry.")
    phone_page.get_by_role("button", name="Send").click()
    phone_page.wait_for_url("**/support/*/")
    assert "I paid but my card still shows the old expiry." in phone_page.inner_text("main")
    assert "Paid, renewal in progress" in phone_page.inner_text(".renewal-state")

    ticket_answer(ticket=Ticket.objects.get(), staff_user=None, body="It is renewed now, sorry for the wait.")
    phone_page.reload()
    assert "It is renewed now, sorry for the wait." in phone_page.inner_text(".thread-message-support")
    screenshot(phone_page)


def test_support_adjusts_a_card_through_the_confirmation_page(
    make_phone_page, login_with_password, screenshot
):
    from tests.support.factories import GB, CardFactory, staff_user
    from usage.models import LedgerEntry

    agent = staff_user("support", email="agent@example.com")
    EmailAddress.objects.create(user=agent, email=agent.email, verified=True, primary=True)
    card = CardFactory(data_remaining=1 * GB, expires_at=timezone.now() + timezone.timedelta(days=2))
    page = make_phone_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    login_with_password(page, login=agent.email, password="correct horse battery")

    page.goto(f"/admin/usage/card/{card.pk}/change/")
    page.get_by_role("link", name="Adjust data or expiry").click()
    page.fill("input[name=data_gb]", "2")
    page.fill("textarea[name=reason]", "Outage compensation")
    screenshot(page, "confirm")
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(f"**/admin/usage/card/{card.pk}/change/")
    assert "Card adjusted" in page.inner_text(".messagelist")
    assert LedgerEntry.objects.get(card=card).reason == "Outage compensation"
