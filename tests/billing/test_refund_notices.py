"""The customer hears how their refund ended: money on its way back, or a refund that failed.

Event bodies are Stripe's shapes (tests/billing/stripe_shapes.py, from Stripe's fixtures)."""

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from billing.refunds import order_refund
from notices import sms
from notices.models import Notification
from tests.billing.conftest import post_event, stripe_event


def staff_refund(order, amount_cents, by, *, to="original_method"):
    return order_refund(
        order=order,
        amount_cents=amount_cents,
        destination=to,
        staff_user=by,
        reason="Asked",
        now=timezone.now(),
    )


@pytest.fixture
def inbox(paid_order):
    mail.outbox.clear()
    sms.outbox.clear()
    return mail.outbox


def refund_mails(order):
    return [message for message in mail.outbox if order.number in message.subject]


def kinds(order) -> list[str]:
    return sorted(Notification.objects.filter(kind__startswith="refund_").values_list("kind", flat=True))


def test_a_refund_to_the_card_tells_the_customer_the_amount_the_delay_and_the_data_taken_back(
    client, paid_order, outsider, fake_stripe, inbox
):
    staff_refund(paid_order, 1490, outsider)
    # Stripe echoes the refund back: the customer is told once.
    post_event(
        client, stripe_event("charge.refunded", fake_stripe.charge_of(paid_order.stripe_payment_intent_id))
    )

    [message] = refund_mails(paid_order)
    assert message.to == ["alice@example.com"]
    assert message.subject == f"Refund of €14.90 for order {paid_order.number}"
    body = " ".join(message.body.split())
    assert f"We have refunded €14.90 for order {paid_order.number}" in body
    assert "within 5 to 10 days" in body
    assert "was taken back from your card" in body
    assert reverse("billing:receipt", args=[paid_order.number]) in body
    assert Notification.objects.filter(kind="refund_succeeded", channel="email").count() == 1


def test_a_refund_to_credit_says_the_credit_is_there_now(paid_order, outsider, inbox):
    staff_refund(paid_order, 500, outsider, to="wallet")

    [message] = refund_mails(paid_order)
    assert message.subject == f"Refund of €5.00 for order {paid_order.number}"
    assert "in your account credit now" in " ".join(message.body.split())


def test_a_pending_refund_that_fails_tells_the_customer_support_will_call_and_nothing_else(
    client, paid_order, outsider, fake_stripe, inbox
):
    fake_stripe.refund_status = "pending"
    refund = staff_refund(paid_order, 1490, outsider)
    assert refund_mails(paid_order) == []  # pending: nothing to tell yet

    failed = fake_stripe.refund_move(
        refund.stripe_refund_id, status="failed", failure_reason="lost_or_stolen_card"
    )
    post_event(client, stripe_event("refund.failed", failed))
    post_event(client, stripe_event("refund.failed", failed))  # Stripe retries

    [message] = refund_mails(paid_order)
    assert message.subject == f"Your refund for order {paid_order.number} could not be completed"
    body = " ".join(message.body.split())
    assert "Our support team has been told" in body
    assert "Your card keeps its data and validity" in body
    assert "refund_succeeded" not in kinds(paid_order)


def test_a_refund_that_fails_after_it_succeeded_is_told_both_times(
    client, paid_order, outsider, fake_stripe, inbox
):
    refund = staff_refund(paid_order, 1490, outsider)
    failed = fake_stripe.refund_move(
        refund.stripe_refund_id, status="failed", failure_reason="expired_or_canceled_card"
    )

    post_event(
        client, stripe_event("charge.refund.updated", failed, previous_attributes={"status": "succeeded"})
    )

    subjects = sorted(message.subject for message in refund_mails(paid_order))
    assert subjects == [
        f"Refund of €14.90 for order {paid_order.number}",
        f"Your refund for order {paid_order.number} could not be completed",
    ]


def test_the_notice_is_in_the_customers_language(paid_order, owner, outsider, inbox):
    owner.language = "fr"
    owner.save(update_fields=["language"])

    staff_refund(paid_order, 500, outsider, to="wallet")

    [message] = refund_mails(paid_order)
    assert message.subject == f"Remboursement de 5,00 € pour la commande {paid_order.number}"


def test_a_lost_dispute_is_the_banks_to_announce(client, paid_order, fake_stripe, inbox):
    opened = fake_stripe.dispute_open(paid_order.stripe_payment_intent_id)
    lost = fake_stripe.dispute_move(opened["id"], status="lost", funds_withdrawn=True)

    post_event(client, stripe_event("charge.dispute.created", opened))
    post_event(client, stripe_event("charge.dispute.closed", lost))

    assert kinds(paid_order) == []
    assert refund_mails(paid_order) == []
