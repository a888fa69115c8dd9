"""The Stripe webhook: signed Stripe-shaped events, stored once, handled by type."""

import json
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from billing.models import Order, Refund, Wallet, WalletEntry, WebhookEvent
from billing.services import order_create
from billing.wallet import wallet_move
from tests.billing import stripe_shapes
from tests.billing.conftest import post_event, signed_headers, stripe_event
from usage.models import LedgerEntry


@pytest.fixture
def order(owner_client, card, week_plan, fake_stripe):
    owner_client.post(reverse("billing:checkout"), {"start_now": "on", "plan": "week", "card": card.pk})
    return Order.objects.get()


def paid_session(fake_stripe, order, **changes) -> dict:
    session = fake_stripe.session_pay(order.stripe_checkout_session_id)
    session.update(changes)
    return {key: value for key, value in session.items() if not key.startswith("_")}


def topups(order) -> int:
    return LedgerEntry.objects.filter(order_id=order.pk, kind="topup").count()


def test_a_paid_checkout_session_renews_the_card(client, order, card, fake_stripe):
    expires_before = card.expires_at

    response = post_event(
        client, stripe_event("checkout.session.completed", paid_session(fake_stripe, order))
    )

    assert response.status_code == 200
    order.refresh_from_db()
    card.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert card.expires_at == expires_before + order.duration
    assert WebhookEvent.objects.get().processed_at is not None
    assert len(mail.outbox) == 1


def test_it_uses_the_payment_time_not_the_processing_time(client, order, card, fake_stripe):
    card.expires_at = timezone.now() - timedelta(hours=1)
    card.save()
    paid_at = int(time.time()) - 600

    post_event(
        client, stripe_event("checkout.session.completed", paid_session(fake_stripe, order), created=paid_at)
    )

    order.refresh_from_db()
    card.refresh_from_db()
    assert int(order.paid_at.timestamp()) == paid_at
    assert int(card.expires_at.timestamp()) == paid_at + 7 * 86400


def test_a_completed_session_not_yet_paid_waits_for_the_async_payment(client, order, card, fake_stripe):
    session = paid_session(fake_stripe, order, payment_status="unpaid")

    post_event(client, stripe_event("checkout.session.completed", session))
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING

    post_event(
        client, stripe_event("checkout.session.async_payment_succeeded", dict(session, payment_status="paid"))
    )
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert topups(order) == 1


def test_a_failed_async_payment_fails_the_order(client, order, card, fake_stripe):
    session = paid_session(fake_stripe, order, payment_status="unpaid")

    post_event(client, stripe_event("checkout.session.async_payment_failed", session))

    order.refresh_from_db()
    assert order.status == Order.Status.FAILED
    assert topups(order) == 0


def test_an_expired_session_expires_the_order_and_returns_the_credit(
    client, owner, card, week_plan, fake_stripe
):
    wallet_move(user=owner, amount_cents=300, kind=WalletEntry.Kind.GOODWILL, now=timezone.now())
    order = order_create(user=owner, plan=week_plan, card=card, now=timezone.now(), apply_wallet=True)
    order.stripe_checkout_session_id = "cs_test_expiring"
    order.save()
    session = stripe_shapes.checkout_session(
        session_id="cs_test_expiring",
        amount_total=order.amount_charged_cents,
        status="expired",
        client_reference_id=str(order.pk),
        metadata={"order_id": str(order.pk)},
    )

    post_event(client, stripe_event("checkout.session.expired", session))
    post_event(client, stripe_event("checkout.session.expired", session))  # a second delivery, new event id

    order.refresh_from_db()
    assert order.status == Order.Status.EXPIRED
    assert Wallet.objects.get(user=owner).balance_cents == 300
    assert WalletEntry.objects.filter(order=order, kind="order_return").count() == 1


def test_a_refund_made_in_stripe_is_recorded_and_takes_back_the_top_up(client, order, card, fake_stripe):
    post_event(client, stripe_event("checkout.session.completed", paid_session(fake_stripe, order)))
    order.refresh_from_db()
    card.refresh_from_db()
    data_before = card.data_remaining
    fake_stripe.refund_in_dashboard(order.stripe_payment_intent_id, 1490)
    charge = fake_stripe.charge_of(order.stripe_payment_intent_id)

    response = post_event(client, stripe_event("charge.refunded", charge))
    post_event(client, stripe_event("charge.refunded", charge))  # Stripe may tell us twice

    assert response.status_code == 200
    order.refresh_from_db()
    card.refresh_from_db()
    refund = Refund.objects.get()
    assert (refund.amount_cents, refund.source, refund.status) == (1490, "stripe", "succeeded")
    assert refund.stripe_refund_id.startswith("re_fake")
    assert order.status == Order.Status.REFUNDED
    assert order.refunded_amount_cents == 1490
    assert card.data_remaining == data_before - 5_000_000_000
    assert LedgerEntry.objects.filter(order_id=order.pk, kind="refund_reversal").count() == 1


def test_a_dispute_marks_the_order_and_flags_it_for_support(client, order, fake_stripe):
    post_event(client, stripe_event("checkout.session.completed", paid_session(fake_stripe, order)))
    order.refresh_from_db()
    dispute = fake_stripe.dispute_open(order.stripe_payment_intent_id)

    post_event(client, stripe_event("charge.dispute.created", dispute))

    order.refresh_from_db()
    assert order.status == Order.Status.DISPUTED
    assert order.flagged_at is not None
    assert order.flag_reason == "dispute"
    assert "fraudulent" in order.last_error


def test_a_failed_payment_intent_inside_checkout_changes_nothing(client, order, fake_stripe):
    intent = stripe_shapes.payment_intent(
        amount=order.amount_charged_cents,
        status="requires_payment_method",
        metadata={"order_id": str(order.pk)},
        last_payment_error={"code": "card_declined", "type": "card_error"},
    )

    response = post_event(client, stripe_event("payment_intent.payment_failed", intent))

    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING  # the traveller can still try another card


def test_an_event_type_we_do_not_handle_is_acknowledged_and_recorded(client, fake_stripe):
    customer = {
        "id": "cus_1",
        "object": "customer",
        "email": "a@example.com",
        "livemode": False,
        "metadata": {},
    }
    response = post_event(client, stripe_event("customer.created", customer))

    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.type == "customer.created"
    assert event.processed_at is not None
    assert event.error == ""


def test_the_same_event_three_times_renews_once(client, order, card, fake_stripe):
    event = stripe_event("checkout.session.completed", paid_session(fake_stripe, order))
    expires_before = card.expires_at

    answers = [post_event(client, event) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert [answer.json()["duplicate"] for answer in answers] == [False, True, True]
    assert WebhookEvent.objects.count() == 1
    assert topups(order) == 1
    card.refresh_from_db()
    assert card.expires_at == expires_before + order.duration
    assert len(mail.outbox) == 1


def test_events_in_reverse_order_renew_once(client, order, card, fake_stripe):
    session = paid_session(fake_stripe, order)
    completed = stripe_event("checkout.session.completed", session, created=int(time.time()) - 5)
    succeeded = stripe_event("checkout.session.async_payment_succeeded", session, created=int(time.time()))

    for event in (succeeded, completed):  # the later event first
        post_event(client, event)

    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert topups(order) == 1
    assert len(mail.outbox) == 1


def test_a_paid_amount_that_differs_from_the_order_is_flagged_not_renewed(client, order, fake_stripe):
    post_event(
        client, stripe_event("checkout.session.completed", paid_session(fake_stripe, order, amount_total=1))
    )

    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert order.flagged_at is not None
    assert topups(order) == 0
    assert "PaymentMismatch" in WebhookEvent.objects.get().error


def test_the_webhook_and_the_success_page_racing_renew_once(client, owner_client, order, card, fake_stripe):
    event = stripe_event("checkout.session.completed", paid_session(fake_stripe, order))
    status_url = (
        reverse("billing:order_status", args=[order.number])
        + f"?session_id={order.stripe_checkout_session_id}"
    )

    owner_client.get(status_url)
    post_event(client, event)
    owner_client.get(status_url)

    assert topups(order) == 1
    assert len(mail.outbox) == 1


# --- Refused deliveries -----------------------------------------------------------------------


@pytest.fixture
def completed_payload(order, fake_stripe):
    return json.dumps(stripe_event("checkout.session.completed", paid_session(fake_stripe, order)))


def post_raw(client, payload, headers):
    return client.post("/stripe/webhook", data=payload, content_type="application/json", **headers)


def test_a_tampered_body_is_refused_and_nothing_stored(client, order, completed_payload):
    headers = signed_headers(completed_payload)
    tampered = completed_payload.replace('"amount_total": 1490', '"amount_total": 1')

    response = post_raw(client, tampered, headers)

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING


def test_a_signature_made_with_another_secret_is_refused(client, completed_payload):
    response = post_raw(client, completed_payload, signed_headers(completed_payload, secret="whsec_attacker"))

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_a_missing_signature_is_refused(client, completed_payload):
    assert post_raw(client, completed_payload, {}).status_code == 400
    assert not WebhookEvent.objects.exists()


def test_an_old_signed_event_is_refused(client, completed_payload):
    response = post_raw(
        client, completed_payload, signed_headers(completed_payload, timestamp=int(time.time()) - 3600)
    )

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_a_signed_body_that_is_not_json_is_refused(client, fake_stripe):
    assert post_raw(client, "not json", signed_headers("not json")).status_code == 400
    assert not WebhookEvent.objects.exists()


def test_the_webhook_only_accepts_post(client, fake_stripe):
    assert client.get("/stripe/webhook").status_code == 405


def test_when_the_renewal_in_the_webhook_worker_fails_the_fulfilment_task_takes_over(
    client, order, card, fake_stripe
):
    """The payment and the renewal share one transaction: a failed renewal rolls both back, then
    the payment is recorded on its own and the fulfilment task renews with its retry policy."""
    from django.db import OperationalError

    from billing import services

    real_topup = services.card_topup
    calls = []

    def flaky(**kwargs):
        calls.append(kwargs["order_id"])
        if len(calls) == 1:
            raise OperationalError("could not obtain lock")
        return real_topup(**kwargs)

    with mock.patch.object(services, "card_topup", side_effect=flaky):
        post_event(client, stripe_event("checkout.session.completed", paid_session(fake_stripe, order)))

    order.refresh_from_db()
    assert len(calls) == 2
    assert order.status == Order.Status.FULFILLED
    assert order.payment_method_type == "card"
    assert topups(order) == 1
    assert len(mail.outbox) == 1


def test_a_signature_dated_in_the_future_is_refused(client, completed_payload):
    response = post_raw(
        client, completed_payload, signed_headers(completed_payload, timestamp=int(time.time()) + 3600)
    )

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_a_signature_a_few_seconds_ahead_is_accepted(client, completed_payload):
    """Clocks differ a little: within Stripe's tolerance either way is fine."""
    response = post_raw(
        client, completed_payload, signed_headers(completed_payload, timestamp=int(time.time()) + 30)
    )

    assert response.status_code == 200


def test_a_live_mode_event_for_a_test_key_is_stored_flagged_and_ignored(client, order, fake_stripe):
    session = paid_session(fake_stripe, order)
    event = stripe_event("checkout.session.completed", dict(session, livemode=True), livemode=True)

    response = post_event(client, event)

    assert response.status_code == 200
    stored = WebhookEvent.objects.get()
    assert stored.livemode is True
    assert stored.processed_at is not None
    assert stored.flagged_at is not None
    assert "live-mode event" in stored.error
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert topups(order) == 0


def test_a_test_mode_event_for_a_live_key_is_ignored(client, order, fake_stripe, settings):
    settings.STRIPE_SECRET_KEY = "sk_live_portal"  # the fake is never called: the event stops first

    post_event(client, stripe_event("checkout.session.completed", paid_session(fake_stripe, order)))

    stored = WebhookEvent.objects.get()
    assert stored.flagged_at is not None
    assert "test-mode event" in stored.error
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
