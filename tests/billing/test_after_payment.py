"""What the traveller is told after paying: a payment being checked, and the method they used."""

from django.core import mail
from django.urls import reverse

from tests.billing.conftest import paid_at_stripe, post_event, stripe_event


def test_a_payment_flagged_for_checking_never_asks_to_pay_again_and_stops_asking_stripe(
    client, owner_client, checkout_order, fake_stripe
):
    session = paid_at_stripe(fake_stripe, checkout_order)
    post_event(client, stripe_event("checkout.session.completed", dict(session, amount_total=1)))
    checkout_order.refresh_from_db()
    assert (checkout_order.status, checkout_order.flag_reason) == ("pending", "payment_mismatch")
    calls_before = len(fake_stripe.calls)

    page = " ".join(
        owner_client.get(
            reverse("billing:order_status", args=[checkout_order.number])
            + f"?session_id={checkout_order.stripe_checkout_session_id}"
        )
        .content.decode()
        .split()
    )
    polled = [
        owner_client.get(reverse("billing:order_status_json", args=[checkout_order.number])).json()
        for _ in range(3)
    ]

    assert "Payment received — it is being checked. We will contact you" in page
    assert "data-order-pay hidden" in page  # no "Continue to payment"
    assert polled[-1]["state"] == "checking"
    assert polled[-1]["pay_url"] == ""
    assert polled[-1]["finished"] is True  # the page stops polling
    assert len(fake_stripe.calls) == calls_before  # and nobody asks Stripe about it every 5 s


def test_the_confirmation_names_the_card_that_paid(client, checkout_order, fake_stripe):
    post_event(
        client, stripe_event("checkout.session.completed", paid_at_stripe(fake_stripe, checkout_order))
    )

    [email] = mail.outbox
    assert "(Card)" in email.body
    assert "Online payment" not in email.body


def test_the_confirmation_names_apple_pay_when_the_card_was_in_apple_pay(client, checkout_order, fake_stripe):
    fake_stripe.card_wallet = "apple_pay"

    post_event(
        client, stripe_event("checkout.session.completed", paid_at_stripe(fake_stripe, checkout_order))
    )

    [email] = mail.outbox
    assert "(Apple Pay)" in email.body


def test_the_confirmation_names_wechat_pay(owner_client, checkout_order, fake_stripe):
    """Paid with WeChat Pay and back on the success page before any webhook."""
    fake_stripe.payment_method_type = "wechat_pay"
    paid_at_stripe(fake_stripe, checkout_order)

    owner_client.get(
        reverse("billing:order_status", args=[checkout_order.number])
        + f"?session_id={checkout_order.stripe_checkout_session_id}"
    )

    [email] = mail.outbox
    assert "(WeChat Pay)" in email.body
