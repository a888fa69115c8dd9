"""A traveller on a phone asks for an invoice, then withdraws from the purchase in two steps."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import Invoice, Withdrawal
from tests.billing.factories import PlanFactory
from tests.browser.test_renewal_journey import PASSWORD, traveller  # noqa: F401 (fixture)
from tests.usage.card_factories import OwnedCardFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_traveller_gets_an_invoice_then_withdraws_in_two_steps(
    phone_page,
    login_with_password,
    screenshot,
    traveller,  # noqa: F811
):
    PlanFactory()  # Week 5 GB, €14.90
    OwnedCardFactory(owner=traveller, expires_at=timezone.now() - timedelta(days=1), data_remaining=0)
    page = phone_page
    login_with_password(page, login="+377 6 12 34 56 78", password=PASSWORD)
    page.get_by_role("link", name="Renew").first.click()
    page.get_by_role("link", name="Choose Week 5 GB").click()
    page.wait_for_url(re.compile(r"/checkout/"))
    page.get_by_role("button", name=re.compile(r"^Pay")).click()
    assert page.get_by_text("Tick the box to ask for your plan to start now").is_visible()
    screenshot(page, "1-checkout-box-required")
    page.get_by_label(re.compile(r"^I ask for my plan to start now")).check()
    page.get_by_role("button", name=re.compile(r"^Pay")).click()
    page.get_by_role("button", name=re.compile(r"^Pay .* \(demo\)")).click()
    page.locator("[data-order-text]").filter(has_text="Done").wait_for(timeout=5000)
    assert page.get_by_role("heading", name="Withdraw from this purchase").is_visible()
    screenshot(page, "2-order-page")

    page.get_by_role("link", name="Receipt").click()
    page.get_by_label("Company or name").fill("上海蓝海旅行科技有限公司")
    page.get_by_label("Address").fill("上海市浦东新区世纪大道 100 号\n200120 上海")
    page.get_by_label("Country").select_option("CN")
    page.get_by_label(re.compile(r"^These details are correct")).check()
    page.get_by_role("button", name="Issue the invoice").click()
    invoice = Invoice.objects.get()
    assert page.get_by_text(invoice.number).first.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "3-receipt-with-invoice")

    page.get_by_role("link", name="Withdraw from this purchase").click()
    page.wait_for_url(re.compile(r"/withdraw/$"))
    assert "€14.90" in page.locator("main").inner_text()
    screenshot(page, "4-withdraw-step-one")
    page.get_by_role("button", name=re.compile(r"^Confirm: withdraw and refund")).click()

    page.wait_for_url(re.compile(r"/receipt/#withdrawal$"))
    withdrawal = Withdrawal.objects.get()
    assert withdrawal.refund_cents == 1490
    assert page.get_by_text("Withdrawn", exact=True).is_visible()
    assert page.get_by_text(re.compile(r"^AV-\d{4}-000001")).first.is_visible()  # the credit note
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "5-withdrawn")
