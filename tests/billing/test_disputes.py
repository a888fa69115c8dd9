"""Disputes follow Stripe's life cycle: opened, funds withdrawn, closed won (funds reinstated) or lost,
with refunds while the payment can still be refunded. Bodies are Stripe's shapes."""

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import Dispute, Refund
from billing.refunds import RefundRefused, order_refund, order_refund_blocker
from tests.billing.conftest import post_event, stripe_event
from tests.billing.factories import GB

WEEK = timedelta(days=7)


def deliver(client, *events):
    for event in events:
        assert post_event(client, event).status_code == 200


def test_a_won_dispute_returns_the_order_and_the_card_to_what_they_were(
    client, paid_order, card, fake_stripe
):
    data_before, expiry_before = card.data_remaining, card.expires_at
    opened = fake_stripe.dispute_open(paid_order.stripe_payment_intent_id)
    withdrawn = fake_stripe.dispute_move(opened["id"], funds_withdrawn=True)

    deliver(
        client,
        stripe_event("charge.dispute.created", opened),
        stripe_event("charge.dispute.funds_withdrawn", withdrawn),
    )

    paid_order.refresh_from_db()
    card.refresh_from_db()
    assert paid_order.status == "disputed"
    assert card.data_remaining == data_before - 5 * GB  # the bank gave the money back meanwhile

    won = fake_stripe.dispute_move(opened["id"], status="won", funds_reinstated=True)
    deliver(
        client,
        stripe_event("charge.dispute.closed", won),
        stripe_event("charge.dispute.funds_reinstated", won),
    )

    paid_order.refresh_from_db()
    card.refresh_from_db()
    assert (paid_order.status, paid_order.refunded_amount_cents) == ("fulfilled", 0)
    assert (card.data_remaining, card.expires_at) == (data_before, expiry_before)
    dispute = Dispute.objects.get()
    assert (dispute.status, dispute.closed_at is not None) == ("won", True)
    assert Refund.objects.get().status == "canceled"  # the withdrawal, undone


def test_a_lost_dispute_takes_back_what_is_left_of_the_top_up_as_a_refund_would(
    client, owner_client, paid_order, card, fake_stripe
):
    data_before, expiry_before = card.data_remaining, card.expires_at
    opened = fake_stripe.dispute_open(paid_order.stripe_payment_intent_id)
    lost = fake_stripe.dispute_move(opened["id"], status="lost", funds_withdrawn=True)

    deliver(
        client, stripe_event("charge.dispute.created", opened), stripe_event("charge.dispute.closed", lost)
    )

    paid_order.refresh_from_db()
    card.refresh_from_db()
    assert (paid_order.status, paid_order.refunded_amount_cents) == ("refunded", 1490)
    assert card.data_remaining == data_before - 5 * GB
    assert card.expires_at == expiry_before - WEEK
    refund = Refund.objects.get()
    assert (refund.source, refund.status, refund.amount_cents) == ("dispute", "succeeded", 1490)


def test_dispute_events_in_any_order_end_the_same(client, paid_order, card, fake_stripe):
    data_before, expiry_before = card.data_remaining, card.expires_at
    opened = fake_stripe.dispute_open(paid_order.stripe_payment_intent_id)
    withdrawn = fake_stripe.dispute_move(opened["id"], funds_withdrawn=True)
    under_review = fake_stripe.dispute_move(opened["id"], status="under_review")
    won = fake_stripe.dispute_move(opened["id"], status="won", funds_reinstated=True)
    events = [
        stripe_event("charge.dispute.created", opened),
        stripe_event("charge.dispute.funds_withdrawn", withdrawn),
        stripe_event("charge.dispute.updated", under_review),
        stripe_event("charge.dispute.closed", won),
        stripe_event("charge.dispute.funds_reinstated", won),
    ]
    random.Random(10).shuffle(events)

    deliver(client, *events, *events)  # and each twice

    paid_order.refresh_from_db()
    card.refresh_from_db()
    assert paid_order.status == "fulfilled"
    assert (card.data_remaining, card.expires_at) == (data_before, expiry_before)


def test_a_disputed_payment_that_can_still_be_refunded_is_refunded_and_the_order_says_so(
    client, paid_order, card, fake_stripe, outsider
):
    inquiry = fake_stripe.dispute_open(
        paid_order.stripe_payment_intent_id, status="warning_needs_response", is_charge_refundable=True
    )
    deliver(client, stripe_event("charge.dispute.created", inquiry))
    paid_order.refresh_from_db()
    assert paid_order.status == "disputed"
    assert order_refund_blocker(order=paid_order) is None

    refund = order_refund(
        order=paid_order,
        amount_cents=1490,
        destination="original_method",
        staff_user=outsider,
        reason="Settle the inquiry",
        now=timezone.now(),
    )

    paid_order.refresh_from_db()
    card.refresh_from_db()
    assert refund.status == "succeeded"
    assert (paid_order.status, paid_order.refunded_amount_cents) == ("refunded", 1490)
    # The inquiry closes afterwards; the order stays refunded.
    closed = fake_stripe.dispute_move(inquiry["id"], status="warning_closed")
    deliver(client, stripe_event("charge.dispute.closed", closed))
    paid_order.refresh_from_db()
    assert paid_order.status == "refunded"


def test_a_dashboard_refund_of_a_disputed_payment_is_applied(client, paid_order, fake_stripe):
    inquiry = fake_stripe.dispute_open(
        paid_order.stripe_payment_intent_id, status="warning_needs_response", is_charge_refundable=True
    )
    refund_object = fake_stripe.refund_in_dashboard(paid_order.stripe_payment_intent_id, 500)

    deliver(
        client, stripe_event("charge.dispute.created", inquiry), stripe_event("refund.created", refund_object)
    )

    paid_order.refresh_from_db()
    assert paid_order.refunded_amount_cents == 500
    assert paid_order.status == "disputed"  # still open, and not all of it refunded


def test_a_chargeback_that_cannot_be_refunded_is_refused(client, paid_order, fake_stripe, outsider):
    chargeback = fake_stripe.dispute_open(paid_order.stripe_payment_intent_id, is_charge_refundable=False)
    deliver(client, stripe_event("charge.dispute.created", chargeback))
    paid_order.refresh_from_db()

    with pytest.raises(RefundRefused, match="disputing this payment"):
        order_refund(
            order=paid_order,
            amount_cents=1490,
            destination="wallet",
            staff_user=outsider,
            reason="Goodwill",
            now=timezone.now(),
        )
    assert not Refund.objects.exists()


def test_a_dispute_of_an_order_not_renewed_yet_waits_and_a_won_one_is_renewed(
    client, checkout_order, paid_not_renewed, card, fake_stripe
):
    opened = fake_stripe.dispute_open(paid_not_renewed)
    deliver(client, stripe_event("charge.dispute.created", opened))
    checkout_order.refresh_from_db()
    assert (checkout_order.status, checkout_order.fulfilled_at) == ("disputed", None)

    won = fake_stripe.dispute_move(opened["id"], status="won")
    deliver(client, stripe_event("charge.dispute.closed", won))

    checkout_order.refresh_from_db()
    card.refresh_from_db()
    assert checkout_order.status == "fulfilled"
    assert card.data_remaining == 3_200_000_000 + 5 * GB
