"""On a phone, the order page says where a refund stands and never asks to pay for a payment being checked."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import Order, Refund
from billing.services import order_create, order_mark_paid
from tests.billing.factories import PlanFactory
from tests.browser.test_renewal_journey import PASSWORD, traveller  # noqa: F401 (fixture)
from tests.usage.card_factories import OwnedCardFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _paid_order(user, plan):
    card = OwnedCardFactory(owner=user)
    order = order_create(user=user, plan=plan, card=card, now=timezone.now())
    order_mark_paid(order_id=order.pk, paid_at=timezone.now(), now=timezone.now(), payment_method_type="card")
    order.refresh_from_db()
    return order


def test_refund_pending_failed_and_a_payment_being_checked_read_plainly_on_a_phone(
    phone_page,
    login_with_password,
    screenshot,
    traveller,  # noqa: F811
):
    plan = PlanFactory()
    pending = _paid_order(traveller, plan)
    Refund.objects.create(
        order=pending, amount_cents=1490, destination="original_method", source="stripe", status="pending"
    )
    failed = _paid_order(traveller, plan)
    Refund.objects.create(
        order=failed,
        amount_cents=745,
        destination="original_method",
        source="staff",
        status="failed",
        failure_reason="lost_or_stolen_card",
        failed_at=timezone.now(),
    )
    checking = order_create(
        user=traveller, plan=plan, card=OwnedCardFactory(owner=traveller), now=timezone.now()
    )
    Order.objects.filter(pk=checking.pk).update(
        stripe_checkout_session_id="cs_test_checked",
        checkout_url="https://checkout.stripe.com/c/pay/cs_test_checked",
        checkout_started_at=timezone.now() - timedelta(minutes=3),
        flagged_at=timezone.now(),
        flag_reason="payment_mismatch",
    )
    page = phone_page
    login_with_password(page, login="+377 6 12 34 56 78", password=PASSWORD)

    page.goto(f"/orders/{pending.number}/")
    assert page.locator("[data-order-badge]").inner_text() == "Refund pending"
    assert "on its way to your payment method" in page.locator("[data-order-text]").inner_text()
    screenshot(page, "1-refund-pending")

    page.goto(f"/orders/{failed.number}/")
    assert page.locator("[data-order-badge]").inner_text() == "Refund failed"
    assert "could not be completed" in page.locator("[data-order-text]").inner_text()
    screenshot(page, "2-refund-failed")

    page.goto(f"/orders/{checking.number}/")
    assert page.locator("[data-order-badge]").inner_text() == "Being checked"
    assert "nothing more to pay" in page.locator("[data-order-text]").inner_text()
    assert not page.get_by_role("link", name="Continue to payment").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "3-payment-being-checked")

    page.goto("/orders/")
    screenshot(page, "4-order-list")
