"""Refunds as Stripe reports them: a refund counts when it has succeeded, whatever order the events
come in. Event bodies are Stripe's shapes (tests/billing/stripe_shapes.py, from Stripe's fixtures)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import Order, Refund, WebhookEvent
from billing.refunds import order_refund, order_refundable_cents
from tests.billing.conftest import post_event, stripe_event
from tests.billing.factories import GB
from usage.models import LedgerEntry

WEEK = timedelta(days=7)


def staff_refund(order, amount_cents, by, *, to="original_method"):
    return order_refund(
        order=order,
        amount_cents=amount_cents,
        destination=to,
        staff_user=by,
        reason="Asked",
        now=timezone.now(),
    )


def page_of(owner_client, order) -> str:
    return " ".join(
        owner_client.get(reverse("billing:order_status", args=[order.number])).content.decode().split()
    )


@pytest.fixture
def pending_refunds(fake_stripe):
    """Refunds to this payment method settle later (as for some wallets and bank debits)."""
    fake_stripe.refund_status = "pending"


def test_a_pending_refund_changes_nothing_until_it_succeeds(
    client, owner_client, paid_order, card, outsider, fake_stripe, pending_refunds
):
    data_before, expiry_before = card.data_remaining, card.expires_at

    refund = staff_refund(paid_order, 1490, outsider)

    paid_order.refresh_from_db()
    card.refresh_from_db()
    assert refund.status == "pending"
    assert (paid_order.status, paid_order.refunded_amount_cents) == ("fulfilled", 0)
    assert (card.data_remaining, card.expires_at) == (data_before, expiry_before)
    assert order_refundable_cents(order=paid_order) == 0  # held until Stripe says how it ended
    assert "Refund pending" in page_of(owner_client, paid_order)

    succeeded = fake_stripe.refund_move(refund.stripe_refund_id, status="succeeded")
    post_event(client, stripe_event("refund.updated", succeeded, previous_attributes={"status": "pending"}))

    paid_order.refresh_from_db()
    card.refresh_from_db()
    assert (paid_order.status, paid_order.refunded_amount_cents) == ("refunded", 1490)
    assert card.data_remaining == data_before - 5 * GB
    assert card.expires_at == expiry_before - WEEK
    assert "€14.90 of €14.90 refunded" in page_of(owner_client, paid_order)


def test_a_pending_refund_that_fails_restores_nothing_because_nothing_was_taken_and_is_flagged(
    client, owner_client, paid_order, card, outsider, fake_stripe, pending_refunds
):
    data_before, expiry_before = card.data_remaining, card.expires_at
    refund = staff_refund(paid_order, 1490, outsider)

    failed = fake_stripe.refund_move(
        refund.stripe_refund_id, status="failed", failure_reason="lost_or_stolen_card"
    )
    post_event(client, stripe_event("refund.failed", failed))

    paid_order.refresh_from_db()
    card.refresh_from_db()
    refund.refresh_from_db()
    assert (refund.status, refund.failure_reason) == ("failed", "lost_or_stolen_card")
    assert (paid_order.status, paid_order.refunded_amount_cents) == ("fulfilled", 0)
    assert (card.data_remaining, card.expires_at) == (data_before, expiry_before)
    assert paid_order.flagged_at is not None
    assert paid_order.flag_reason == "refund"
    assert "lost_or_stolen_card" in paid_order.last_error
    assert order_refundable_cents(order=paid_order) == 1490  # support can refund it another way
    page = page_of(owner_client, paid_order)
    assert "Refund failed" in page
    assert "could not be completed" in page


def test_a_refund_that_fails_after_it_succeeded_gives_the_card_and_order_back(
    client, owner_client, paid_order, card, outsider, fake_stripe
):
    data_before, expiry_before = card.data_remaining, card.expires_at
    refund = staff_refund(paid_order, 1490, outsider)
    paid_order.refresh_from_db()
    assert paid_order.status == "refunded"

    failed = fake_stripe.refund_move(
        refund.stripe_refund_id, status="failed", failure_reason="expired_or_canceled_card"
    )
    post_event(
        client, stripe_event("charge.refund.updated", failed, previous_attributes={"status": "succeeded"})
    )

    paid_order.refresh_from_db()
    card.refresh_from_db()
    assert (paid_order.status, paid_order.refunded_amount_cents) == ("fulfilled", 0)
    assert (card.data_remaining, card.expires_at) == (data_before, expiry_before)
    assert paid_order.flag_reason == "refund"
    kinds = list(LedgerEntry.objects.filter(order_id=paid_order.pk).values_list("kind", "data_delta"))
    assert kinds == [("topup", 5 * GB), ("refund_reversal", -5 * GB), ("refund_reversal", 5 * GB)]
    assert "Refund failed" in page_of(owner_client, paid_order)


def test_an_older_report_arriving_late_changes_nothing(
    client, paid_order, card, outsider, fake_stripe, pending_refunds
):
    refund = staff_refund(paid_order, 1490, outsider)
    pending = fake_stripe.refunds[refund.stripe_refund_id].copy()
    succeeded = fake_stripe.refund_move(refund.stripe_refund_id, status="succeeded")

    post_event(client, stripe_event("refund.updated", succeeded))
    post_event(client, stripe_event("refund.created", pending))  # delivered last, says "pending"

    refund.refresh_from_db()
    paid_order.refresh_from_db()
    assert refund.status == "succeeded"
    assert paid_order.status == "refunded"
    assert LedgerEntry.objects.filter(order_id=paid_order.pk, kind="refund_reversal").count() == 1


def test_a_dashboard_refund_told_by_refund_events_and_charge_refunded_counts_once(
    client, paid_order, card, fake_stripe
):
    refund_object = fake_stripe.refund_in_dashboard(paid_order.stripe_payment_intent_id, 500)
    charge = fake_stripe.charge_of(paid_order.stripe_payment_intent_id)

    for event in (
        stripe_event("charge.refunded", charge),
        stripe_event("refund.created", refund_object),
        stripe_event("charge.refunded", charge),
    ):
        post_event(client, event)

    refund = Refund.objects.get()
    paid_order.refresh_from_db()
    assert (refund.source, refund.amount_cents, refund.status) == ("stripe", 500, "succeeded")
    assert (paid_order.status, paid_order.refunded_amount_cents) == ("partially_refunded", 500)
    assert WebhookEvent.objects.filter(processed_at__isnull=True).count() == 0


def test_two_partial_refunds_that_add_up_to_the_price_take_back_the_whole_top_up(
    paid_order, card, outsider, owner
):
    # What the card had before this order renewed it.
    topup = LedgerEntry.objects.get(order_id=paid_order.pk, kind="topup")
    data_before_order = topup.data_after - topup.data_delta

    staff_refund(paid_order, 500, outsider, to="wallet")
    staff_refund(paid_order, 990, outsider, to="wallet")

    card.refresh_from_db()
    paid_order.refresh_from_db()
    assert paid_order.status == "refunded"
    # 500/1490 and 990/1490 of 5 GB and 7 days, each rounded down, used to leave 1 byte and 1 second.
    assert card.data_remaining == data_before_order
    assert card.expires_at == topup.expires_before
    reversed_data = [refund.data_reversed_bytes for refund in Refund.objects.order_by("pk")]
    assert sum(reversed_data) == 5 * GB


def test_an_order_refunded_in_part_before_its_renewal_is_renewed_and_the_share_taken_back(
    client, checkout_order, paid_not_renewed, card, fake_stripe
):
    expiry_before = card.expires_at

    refund_object = fake_stripe.refund_in_dashboard(paid_not_renewed, 745)
    post_event(client, stripe_event("refund.created", refund_object))

    checkout_order.refresh_from_db()
    card.refresh_from_db()
    assert checkout_order.status == "partially_refunded"
    assert checkout_order.fulfilled_at is not None
    assert card.data_remaining == 3_200_000_000 + 5 * GB - 2_500_000_000
    assert card.expires_at == expiry_before + timedelta(days=3, hours=12)


def test_refunds_of_a_partly_refunded_order_cannot_exceed_what_is_left(paid_order, outsider, fake_stripe):
    from billing.refunds import RefundRefused

    fake_stripe.refund_status = "pending"
    staff_refund(paid_order, 1000, outsider)

    with pytest.raises(RefundRefused, match="no more than what is left"):
        staff_refund(paid_order, 491, outsider)
    assert Refund.objects.count() == 1
    assert Order.objects.get(pk=paid_order.pk).status == "fulfilled"
