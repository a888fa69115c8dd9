"""An event that arrives before the portal can place it is never lost: it waits, is retried with
backoff, applies as soon as its payment is recorded, and is flagged for support after a day."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from billing.models import Order, Refund, WebhookEvent
from billing.reconcile import orders_reconcile
from tests.billing import stripe_shapes
from tests.billing.conftest import paid_at_stripe, post_event, stripe_event
from tests.billing.factories import GB


def completed(fake_stripe, order):
    return stripe_event("checkout.session.completed", fake_stripe.sessions[order.stripe_checkout_session_id])


def test_a_refund_before_the_payment_is_recorded_waits_and_applies_once_it_is(
    client, checkout_order, card, fake_stripe
):
    session = paid_at_stripe(fake_stripe, checkout_order)
    fake_stripe.refund_in_dashboard(session["payment_intent"], 500)
    charge = fake_stripe.charge_of(session["payment_intent"])  # carries the PaymentIntent's metadata

    response = post_event(client, stripe_event("charge.refunded", charge))

    assert response.status_code == 200
    waiting = WebhookEvent.objects.get()
    assert waiting.processed_at is None  # not "processed": it was not applied
    assert waiting.order_id == checkout_order.pk
    assert waiting.next_attempt_at is not None
    assert "not recorded yet" in waiting.error
    assert not Refund.objects.exists()

    post_event(client, completed(fake_stripe, checkout_order))

    checkout_order.refresh_from_db()
    card.refresh_from_db()
    waiting.refresh_from_db()
    assert waiting.processed_at is not None
    assert checkout_order.status == "partially_refunded"
    assert checkout_order.refunded_amount_cents == 500
    share = 5 * GB * 500 // 1490
    assert card.data_remaining == 3_200_000_000 + 5 * GB - share  # renewed, then its share taken back


def test_a_dispute_before_the_payment_is_recorded_is_placed_through_its_payment_intent(
    client, checkout_order, card, fake_stripe
):
    session = paid_at_stripe(fake_stripe, checkout_order)
    dispute = fake_stripe.dispute_open(session["payment_intent"])
    assert dispute["metadata"] == {}  # a dispute never carries the portal's metadata

    post_event(client, stripe_event("charge.dispute.created", dispute))

    waiting = WebhookEvent.objects.get()
    assert (waiting.processed_at, waiting.order_id) == (None, checkout_order.pk)
    assert fake_stripe.calls_to("GET", f"/v1/payment_intents/{session['payment_intent']}")

    post_event(client, completed(fake_stripe, checkout_order))

    checkout_order.refresh_from_db()
    assert checkout_order.status == "disputed"
    assert checkout_order.fulfilled_at is None  # not renewed while the bank disputes it
    assert WebhookEvent.objects.filter(processed_at__isnull=True).count() == 0


def test_a_waiting_event_is_retried_with_backoff_and_flagged_after_a_day(client, checkout_order, fake_stripe):
    """A payment Stripe reported for another amount is never recorded (support checks it), so a
    refund of it cannot apply: it keeps waiting, less and less often, and support is told."""
    session = paid_at_stripe(fake_stripe, checkout_order)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        post_event(client, stripe_event("checkout.session.completed", dict(session, amount_total=1)))
        refund = fake_stripe.refund_in_dashboard(session["payment_intent"], 1)
        post_event(client, stripe_event("refund.created", refund))
    event = WebhookEvent.objects.get(type="refund.created")
    first_wait = event.next_attempt_at - start

    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        orders_reconcile(now=timezone.now())
    event.refresh_from_db()
    assert event.attempts == 1  # not due yet

    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        orders_reconcile(now=timezone.now())
        event.refresh_from_db()
        assert event.attempts == 2
        assert event.next_attempt_at - timezone.now() > first_wait  # backing off

    with time_machine.travel(start + timedelta(hours=25), tick=False):
        orders_reconcile(now=timezone.now())
    event.refresh_from_db()
    checkout_order.refresh_from_db()
    assert event.processed_at is None
    assert event.flagged_at is not None
    assert checkout_order.flagged_at is not None
    assert checkout_order.flag_reason == "payment_mismatch"  # the first reason stays

    with time_machine.travel(start + timedelta(days=4), tick=False):
        attempts = event.attempts
        orders_reconcile(now=timezone.now())
    event.refresh_from_db()
    assert event.attempts == attempts  # past Stripe's own three days, only support re-runs it


def test_someone_elses_payment_is_recorded_and_ignored(client, paid_order, fake_stripe):
    other_intent = stripe_shapes.payment_intent(amount=999, metadata={"shop": "elsewhere"})
    fake_stripe.payment_intents[other_intent["id"]] = other_intent
    charge = stripe_shapes.charge(
        amount=999, payment_intent=other_intent["id"], metadata={"shop": "elsewhere"}
    )

    post_event(client, stripe_event("charge.refunded", dict(charge, amount_refunded=999, refunded=True)))

    event = WebhookEvent.objects.get(type="charge.refunded")
    assert event.processed_at is not None
    assert event.flagged_at is None
    assert "Not a portal payment" in event.error
    assert not Refund.objects.exists()


def test_another_installations_order_number_is_not_mistaken_for_ours(client, paid_order, fake_stripe):
    metadata = {
        "order_id": str(paid_order.pk),
        "order_number": paid_order.number,
        "installation": "portal-staging",
    }
    other_intent = stripe_shapes.payment_intent(amount=1490, metadata=metadata)
    fake_stripe.payment_intents[other_intent["id"]] = other_intent
    refund = stripe_shapes.refund(
        amount=1490, charge_id=stripe_shapes.new_id("ch"), payment_intent=other_intent["id"]
    )

    post_event(client, stripe_event("refund.created", refund))

    paid_order.refresh_from_db()
    assert paid_order.status == Order.Status.FULFILLED
    assert "Not a portal payment" in WebhookEvent.objects.get(type="refund.created").error
