from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import Order, Refund, Wallet
from billing.refunds import order_refund
from billing.services import BillingError
from billing.stripe_client import installation_prefix
from tests.billing.conftest import post_event, stripe_event
from tests.billing.factories import GB
from usage.models import LedgerEntry


@pytest.fixture
def paid_by_card(owner_client, card, week_plan, fake_stripe):
    """Alice renewed by card through Stripe: card active 5 days + 7, 3.2 + 5 GB."""
    owner_client.post(reverse("billing:checkout"), {"start_now": "on", "plan": "week", "card": card.pk})
    order = Order.objects.get()
    fake_stripe.session_pay(order.stripe_checkout_session_id)
    owner_client.get(
        reverse("billing:order_status", args=[order.number])
        + f"?session_id={order.stripe_checkout_session_id}"
    )
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    return order


def staff_refund(order, amount_cents, *, to, by, reason):
    """Staff refund `amount_cents` of `order` to "original_method" or "wallet", now."""
    return order_refund(
        order=order,
        amount_cents=amount_cents,
        destination=to,
        staff_user=by,
        reason=reason,
        now=timezone.now(),
    )


def test_a_full_refund_to_the_card_goes_through_stripe_and_takes_back_the_top_up(
    paid_by_card, card, outsider, fake_stripe
):
    card.refresh_from_db()
    data_before, expiry_before = card.data_remaining, card.expires_at

    refund = staff_refund(paid_by_card, 1490, to="original_method", by=outsider, reason="Never used")

    [call] = fake_stripe.calls_to("POST", "/v1/refunds")
    assert call.params == {
        "payment_intent": paid_by_card.stripe_payment_intent_id,
        "amount": "1490",
        "metadata[order_id]": str(paid_by_card.pk),
        "metadata[order_number]": paid_by_card.number,
        "metadata[installation]": installation_prefix(),
        "metadata[refund_id]": str(refund.pk),
    }
    assert call.headers["idempotency-key"].startswith(f"{installation_prefix()}-refund-{refund.pk}-")
    paid_by_card.refresh_from_db()
    card.refresh_from_db()
    assert refund.stripe_refund_id.startswith("re_fake")
    assert paid_by_card.status == Order.Status.REFUNDED
    assert card.data_remaining == data_before - 5 * GB
    assert card.expires_at == expiry_before - timedelta(days=7)


def test_stripe_echoing_our_refund_back_does_not_count_it_twice(client, paid_by_card, outsider, fake_stripe):
    staff_refund(paid_by_card, 500, to="original_method", by=outsider, reason="Partly unused")
    charge = fake_stripe.charge_of(paid_by_card.stripe_payment_intent_id)

    post_event(client, stripe_event("charge.refunded", charge))

    paid_by_card.refresh_from_db()
    assert Refund.objects.count() == 1
    assert paid_by_card.refunded_amount_cents == 500
    assert paid_by_card.status == Order.Status.PARTIALLY_REFUNDED


def test_a_partial_refund_to_credit_takes_back_its_share(paid_by_card, card, owner, outsider):
    card.refresh_from_db()
    data_before, expiry_before = card.data_remaining, card.expires_at

    refund = staff_refund(paid_by_card, 745, to="wallet", by=outsider, reason="Coverage gap")

    card.refresh_from_db()
    paid_by_card.refresh_from_db()
    assert Wallet.objects.get(user=owner).balance_cents == 745
    assert paid_by_card.status == Order.Status.PARTIALLY_REFUNDED
    assert refund.data_reversed_bytes == 2_500_000_000
    assert card.data_remaining == data_before - 2_500_000_000
    assert card.expires_at == expiry_before - timedelta(days=3, hours=12)


def test_a_second_refund_completing_the_amount_refunds_the_order(paid_by_card, outsider):
    now = timezone.now()
    order_refund(
        order=paid_by_card, amount_cents=490, destination="wallet", staff_user=outsider, reason="a", now=now
    )
    order_refund(
        order=paid_by_card, amount_cents=1000, destination="wallet", staff_user=outsider, reason="b", now=now
    )

    paid_by_card.refresh_from_db()
    assert paid_by_card.status == Order.Status.REFUNDED
    assert LedgerEntry.objects.filter(order_id=paid_by_card.pk, kind="refund_reversal").count() == 2


def test_a_refund_cannot_exceed_what_is_left(paid_by_card, outsider):
    staff_refund(paid_by_card, 1000, to="wallet", by=outsider, reason="a")

    with pytest.raises(BillingError):
        staff_refund(paid_by_card, 491, to="wallet", by=outsider, reason="b")


def test_an_unpaid_order_cannot_be_refunded(owner, card, week_plan, outsider):
    from billing.services import order_create

    order = order_create(user=owner, plan=week_plan, card=card, now=timezone.now())

    with pytest.raises(BillingError):
        staff_refund(order, 100, to="wallet", by=outsider, reason="x")
    assert not Refund.objects.exists()


def test_a_demo_payment_can_only_be_refunded_to_credit(owner_client, card, week_plan, outsider, demo_mode):
    owner_client.post(reverse("billing:checkout"), {"start_now": "on", "plan": "week", "card": card.pk})
    order = Order.objects.get()
    owner_client.post(reverse("billing:demo_checkout", args=[order.number]), {"outcome": "pay"})
    order.refresh_from_db()

    with pytest.raises(BillingError, match="refund it to wallet credit"):
        staff_refund(order, 100, to="original_method", by=outsider, reason="x")


def test_the_receipt_lists_refunds(owner_client, paid_by_card, outsider):
    staff_refund(paid_by_card, 745, to="wallet", by=outsider, reason="x")

    page = " ".join(
        owner_client.get(reverse("billing:receipt", args=[paid_by_card.number])).content.decode().split()
    )

    assert "Total refunded" in page
    assert "Wallet credit" in page
    assert "\u2212€7.45" in page  # a real minus sign
    assert "Card" in page
