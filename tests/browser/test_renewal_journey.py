"""Issue 4: log in by phone → Renew → week plan → demo Pay → the status page shows the new expiry → receipt."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import Order
from portal.lib.display import format_monaco_datetime
from tests.billing.factories import PlanFactory
from tests.usage.card_factories import OwnedCardFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery"


@pytest.fixture
def traveller(django_user_model, settings):
    from allauth.account.models import EmailAddress

    settings.PAYMENTS_DEMO_MODE = True
    user = django_user_model.objects.create_user(
        email="traveller@example.com",
        phone="+377612345678",
        phone_verified=True,
        password=PASSWORD,
        name="Léa",
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def test_a_traveller_renews_a_card_with_the_week_plan_and_sees_the_new_expiry_and_receipt(
    phone_page, login_with_password, screenshot, traveller
):
    PlanFactory(
        code="day", name="Day 1 GB", period="day", data_bytes=1_000_000_000, price_cents=490, display_order=1
    )
    PlanFactory(display_order=2)  # Week 5 GB, €14.90
    card = OwnedCardFactory(
        owner=traveller, label="Léa's phone", expires_at=timezone.now() + timedelta(days=2)
    )
    expected_expiry = format_monaco_datetime(card.expires_at + timedelta(days=7))
    page = phone_page

    login_with_password(page, login="+377 6 12 34 56 78", password=PASSWORD)
    page.get_by_role("link", name="Renew").first.click()
    page.get_by_role("link", name="Choose Week 5 GB").click()

    page.wait_for_url(re.compile(r"/checkout/\?plan=week"))
    assert "€14.90" in page.locator("[data-testid=amount-due]").inner_text()
    assert expected_expiry in page.locator("[data-testid=outcome]").inner_text()
    screenshot(page, "1-review")
    page.get_by_label(re.compile(r"^I ask for my plan to start now")).check()
    page.get_by_role("button", name=re.compile(r"^Pay")).click()

    page.wait_for_url(re.compile(r"/demo-payment/$"))
    assert page.get_by_text("DEMO", exact=True).is_visible()
    screenshot(page, "2-demo-payment")
    page.get_by_role("button", name=re.compile(r"^Pay .* \(demo\)")).click()

    page.wait_for_url(re.compile(r"/orders/MC-\d{4}-\d{6}/$"))
    message = page.locator("[data-order-text]")
    message.filter(has_text="Done — valid until").wait_for(timeout=5000)
    assert expected_expiry in message.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "3-renewed")

    page.get_by_role("link", name="Receipt").click()
    page.wait_for_url(re.compile(r"/receipt/$"))
    order = Order.objects.get()
    receipt = page.locator(".receipt").inner_text()
    for text in (order.number, "Week 5 GB", "€14.90", "of which VAT (20 %)"):
        assert text in receipt
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "4-receipt")


def test_the_status_page_switches_from_renewing_to_done_without_a_reload(
    phone_page, login_with_password, screenshot, traveller, monkeypatch
):
    from billing.services import order_create, order_fulfil, order_mark_paid

    card = OwnedCardFactory(owner=traveller, expires_at=timezone.now() + timedelta(days=2))
    order = order_create(user=traveller, plan=PlanFactory(), card=card, now=timezone.now())
    # The worker is slow today: the payment is in, the renewal not yet.
    monkeypatch.setattr("billing.services._enqueue_fulfilment", lambda order_id: None)
    order_mark_paid(order_id=order.pk, paid_at=timezone.now(), now=timezone.now())
    page = phone_page
    login_with_password(page, login="+377 6 12 34 56 78", password=PASSWORD)
    page.goto(f"/orders/{order.number}/")
    page.evaluate("window.notReloaded = true")
    message = page.locator("[data-order-text]")
    assert "Renewing your card" in message.inner_text()
    screenshot(page, "renewing")

    order_fulfil(order_id=order.pk, now=timezone.now())

    message.filter(has_text="Done — valid until").wait_for(timeout=5000)
    assert page.evaluate("window.notReloaded") is True
    assert page.locator("[data-order-badge]").inner_text() == "Renewed"
    assert page.get_by_role("link", name="Receipt").is_visible()
    screenshot(page, "done")


def test_the_order_history_shows_a_renewal_finishing_live(
    phone_page, login_with_password, traveller, monkeypatch
):
    from billing.services import order_create, order_fulfil, order_mark_paid

    card = OwnedCardFactory(owner=traveller, expires_at=timezone.now() + timedelta(days=2))
    order = order_create(user=traveller, plan=PlanFactory(), card=card, now=timezone.now())
    monkeypatch.setattr("billing.services._enqueue_fulfilment", lambda order_id: None)
    order_mark_paid(order_id=order.pk, paid_at=timezone.now(), now=timezone.now())
    page = phone_page
    login_with_password(page, login="+377 6 12 34 56 78", password=PASSWORD)
    page.goto("/orders/")
    row = page.locator(f"article:has-text('{order.number}')")
    assert row.locator("[data-order-badge]").inner_text() == "Paid, renewing"

    order_fulfil(order_id=order.pk, now=timezone.now())

    row.locator("[data-order-text]").filter(has_text="Done — valid until").wait_for(timeout=5000)
    assert row.locator("[data-order-badge]").inner_text() == "Renewed"
