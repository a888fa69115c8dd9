from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.urls import reverse

from audit.models import AuditEntry
from billing.models import Order, Refund, Wallet, WalletEntry, WebhookEvent
from billing.refunds import order_refundable_cents
from billing.selectors import orders_stuck
from notices.models import Notification
from tests.billing import stripe_shapes
from tests.support.factories import GB, CardFactory, OrderFactory
from usage import ledger
from usage.models import LedgerEntry

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def fulfilled_order(customer):
    """A week plan (5 GB, 19.90 EUR) paid by card yesterday and applied to the card."""
    card = CardFactory(owner=customer)
    paid_at = NOW - timedelta(days=1)
    order = OrderFactory(
        customer=customer, card=card, created_at=paid_at, paid_at=paid_at, fulfilled_at=paid_at
    )
    with transaction.atomic():
        ledger.card_topup(
            card=card,
            allowance_bytes=5 * GB,
            duration=timedelta(days=7),
            start=paid_at,
            order_id=order.pk,
            now=paid_at,
        )
    return order


@pytest.fixture
def fake_stripe(fake_stripe, fulfilled_order):
    """Stripe knows the order's PaymentIntent (the customer paid 19.90 EUR by card)."""
    fake_stripe.payment_intents[fulfilled_order.stripe_payment_intent_id] = stripe_shapes.payment_intent(
        intent_id=fulfilled_order.stripe_payment_intent_id,
        amount=fulfilled_order.amount_charged_cents,
        latest_charge="ch_fake_carla",
    )
    return fake_stripe


def action_url(model, obj, name):
    return reverse(f"admin:billing_{model}_staff_action", args=[obj.pk, name])


def test_a_full_refund_to_the_card_goes_through_stripe_and_takes_back_the_top_up(
    agent_client, fulfilled_order, fake_stripe, support_agent
):
    response = agent_client.post(
        action_url("order", fulfilled_order, "refund"),
        {"amount": "19.90", "destination": "original_method", "reason": "Never worked in Monaco"},
    )
    assert response.status_code == 302, response.content.decode()[-2000:]

    refund_calls = fake_stripe.calls_to("POST", "/v1/refunds")
    assert len(refund_calls) == 1
    assert refund_calls[0].params["amount"] == "1990"
    assert refund_calls[0].params["payment_intent"] == fulfilled_order.stripe_payment_intent_id

    fulfilled_order.refresh_from_db()
    assert fulfilled_order.status == Order.Status.REFUNDED
    assert fulfilled_order.refunded_amount_cents == 1990
    refund = Refund.objects.get()
    assert refund.stripe_refund_id and refund.staff_user == support_agent

    reversal = LedgerEntry.objects.get(kind=LedgerEntry.Kind.REFUND_REVERSAL)
    assert reversal.data_delta == -5 * GB
    card = fulfilled_order.card
    card.refresh_from_db()
    assert card.data_remaining == 0
    assert card.expires_at == NOW  # back by the week, but never before now
    assert not WalletEntry.objects.exists()

    audit = AuditEntry.objects.get()
    assert (audit.action, audit.reason, audit.actor) == (
        "order_refund",
        "Never worked in Monaco",
        support_agent,
    )
    assert audit.before["status"] == "fulfilled"
    assert audit.after["status"] == "refunded"
    assert audit.after["amount_cents"] == 1990


def test_a_partial_refund_to_wallet_credit_does_not_call_stripe(
    agent_client, fulfilled_order, fake_stripe, customer
):
    response = agent_client.post(
        action_url("order", fulfilled_order, "refund"),
        {"amount": "5.00", "destination": "wallet", "reason": "Slow data for two days"},
    )
    assert response.status_code == 302
    assert fake_stripe.calls_to("POST", "/v1/refunds") == []
    fulfilled_order.refresh_from_db()
    assert fulfilled_order.status == Order.Status.PARTIALLY_REFUNDED
    assert Wallet.objects.get(user=customer).balance_cents == 500
    entry = LedgerEntry.objects.get(kind=LedgerEntry.Kind.REFUND_REVERSAL)
    assert entry.data_delta == -(5 * GB * 500 // 1990)
    assert AuditEntry.objects.get().after["destination"] == "wallet"


def test_a_refund_above_what_is_left_is_refused_and_changes_nothing(
    agent_client, fulfilled_order, fake_stripe
):
    response = agent_client.post(
        action_url("order", fulfilled_order, "refund"),
        {"amount": "25.00", "destination": "wallet", "reason": "Too much"},
    )
    assert response.status_code == 200
    assert "can still be refunded" in response.content.decode()
    fulfilled_order.refresh_from_db()
    assert fulfilled_order.refunded_amount_cents == 0
    assert not AuditEntry.objects.exists()
    assert not LedgerEntry.objects.filter(kind="refund_reversal").exists()


def test_a_refund_stripe_did_not_answer_stays_requested_and_holds_its_amount(
    agent_client, fulfilled_order, fake_stripe
):
    fake_stripe.fail_all = True
    response = agent_client.post(
        action_url("order", fulfilled_order, "refund"),
        {"amount": "19.90", "destination": "original_method", "reason": "Test"},
    )
    assert response.status_code == 200
    assert "Stripe did not answer" in response.content.decode()
    fulfilled_order.refresh_from_db()
    assert fulfilled_order.status == Order.Status.FULFILLED
    refund = Refund.objects.get()
    assert (refund.status, refund.stripe_refund_id) == ("requested", None)  # the reconciler asks again
    assert order_refundable_cents(order=fulfilled_order) == 0  # so nobody refunds it twice meanwhile
    audit = AuditEntry.objects.get()
    assert audit.after["refund_status"] == "requested"
    assert not LedgerEntry.objects.filter(kind="refund_reversal").exists()


def test_a_refund_stripe_refuses_is_cancelled_and_changes_nothing(agent_client, fulfilled_order, fake_stripe):
    fake_stripe.charges["ch_fake_carla"] = stripe_shapes.charge(
        charge_id="ch_fake_carla",
        amount=fulfilled_order.amount_charged_cents,
        payment_intent=fulfilled_order.stripe_payment_intent_id,
        amount_refunded=fulfilled_order.amount_charged_cents,  # refunded in the Dashboard already
    )

    response = agent_client.post(
        action_url("order", fulfilled_order, "refund"),
        {"amount": "19.90", "destination": "original_method", "reason": "Test"},
    )

    assert response.status_code == 200
    assert "Stripe refused the refund" in response.content.decode()
    refund = Refund.objects.get()
    assert refund.status == "canceled"
    assert "greater than unrefunded amount" in refund.failure_reason
    fulfilled_order.refresh_from_db()
    assert (fulfilled_order.status, fulfilled_order.refunded_amount_cents) == ("fulfilled", 0)
    assert AuditEntry.objects.get().after["refund_status"] == "canceled"


def test_stripe_is_asked_for_a_refund_with_no_transaction_open_and_so_no_row_locked(
    agent_client, fulfilled_order, fake_stripe
):
    from billing import stripe_client

    seen = []
    real = stripe_client.refund_create

    def watching(**kwargs):
        seen.append(transaction.get_connection().in_atomic_block)
        return real(**kwargs)

    with mock.patch.object(stripe_client, "refund_create", side_effect=watching):
        response = agent_client.post(
            action_url("order", fulfilled_order, "refund"),
            {"amount": "19.90", "destination": "original_method", "reason": "Never worked"},
        )

    assert response.status_code == 302
    assert seen == [False]
    assert Refund.objects.get().status == "succeeded"


def test_the_refund_button_is_offered_only_when_the_refund_can_succeed(agent_client, fulfilled_order):
    from billing.models import Dispute

    refund_url = action_url("order", fulfilled_order, "refund")
    change_url = reverse("admin:billing_order_change", args=[fulfilled_order.pk])
    assert refund_url in agent_client.get(change_url).content.decode()

    Order.objects.filter(pk=fulfilled_order.pk).update(status=Order.Status.DISPUTED)
    dispute = Dispute.objects.create(
        order=fulfilled_order, stripe_dispute_id="dp_1", amount_cents=1990, status="needs_response"
    )
    assert refund_url not in agent_client.get(change_url).content.decode()  # a chargeback: refused
    assert agent_client.get(refund_url).status_code in (302, 403, 404)

    dispute.status, dispute.is_charge_refundable = "warning_needs_response", True
    dispute.save()
    assert refund_url in agent_client.get(change_url).content.decode()  # an inquiry can be refunded


def test_goodwill_credit_lands_in_the_wallet_and_is_audited(agent_client, customer):
    response = agent_client.post(
        reverse("admin:accounts_user_staff_action", args=[customer.pk, "goodwill"]),
        {"amount": "3.50", "reason": "Sorry for the wait"},
    )
    assert response.status_code == 302
    wallet = Wallet.objects.get(user=customer)
    assert wallet.balance_cents == 350
    entry = WalletEntry.objects.get()
    assert (entry.kind, entry.amount_cents, entry.reason) == ("goodwill", 350, "Sorry for the wait")
    audit = AuditEntry.objects.get()
    assert (audit.action, audit.before, audit.after["balance_cents"]) == (
        "wallet_credit",
        {"balance_cents": 0},
        350,
    )
    assert not LedgerEntry.objects.exists()


def test_resending_the_confirmation_sends_the_same_notice_again(agent_client, customer, fulfilled_order):
    from billing.services import renewal_confirmation_send

    with transaction.atomic():
        renewal_confirmation_send(order=fulfilled_order, card=fulfilled_order.card)
    assert len(mail.outbox) == 1
    response = agent_client.post(
        action_url("order", fulfilled_order, "resend-confirmation"), {"reason": "Customer lost the email"}
    )
    assert response.status_code == 302
    assert len(mail.outbox) == 2
    assert mail.outbox[1].to == [customer.email]
    assert mail.outbox[1].subject == mail.outbox[0].subject
    assert Notification.objects.count() == 1
    assert AuditEntry.objects.get().action == "order_resend_confirmation"
    assert LedgerEntry.objects.count() == 1  # only the original top-up


def test_retrying_a_stuck_fulfilment_renews_the_card_once(agent_client, customer):
    card = CardFactory(owner=customer)
    paid_at = NOW - timedelta(hours=30)
    order = OrderFactory(
        customer=customer,
        card=card,
        status=Order.Status.PAID,
        created_at=paid_at,
        paid_at=paid_at,
        flagged_at=NOW,
    )
    page = agent_client.get(reverse("admin:billing_order_changelist"), {"attention": "stuck"})
    assert list(page.context["cl"].result_list) == [order]

    response = agent_client.post(
        action_url("order", order, "retry-fulfilment"), {"reason": "Flagged by the reconciler"}
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert LedgerEntry.objects.filter(kind="topup", order_id=order.pk).count() == 1
    card.refresh_from_db()
    assert card.expires_at == paid_at + timedelta(days=7)
    audit = AuditEntry.objects.get()
    assert (audit.before["status"], audit.after["status"]) == ("paid", "fulfilled")


def test_the_stuck_filter_lists_what_the_reconciler_flags(agent_client, customer):
    card = CardFactory(owner=customer)
    old = NOW - timedelta(hours=25)
    never_checked_out = OrderFactory(
        customer=customer, card=card, status=Order.Status.PENDING, created_at=old
    )
    paid_not_renewed = OrderFactory(
        customer=customer, card=card, status=Order.Status.PAID, created_at=old, paid_at=old
    )
    recent = NOW - timedelta(hours=2)
    OrderFactory(customer=customer, card=card, status=Order.Status.PAID, created_at=recent, paid_at=recent)
    page = agent_client.get(reverse("admin:billing_order_changelist"), {"attention": "stuck"})
    assert set(page.context["cl"].result_list) == {never_checked_out, paid_not_renewed}
    assert set(Order.objects.filter(orders_stuck(now=NOW))) == {never_checked_out, paid_not_renewed}


def test_re_running_a_failed_webhook_event_applies_it(agent_client, customer):
    card = CardFactory(owner=customer)
    order = OrderFactory(customer=customer, card=card, status=Order.Status.PAID, paid_at=NOW, created_at=NOW)
    event = WebhookEvent.objects.create(
        stripe_event_id="evt_1",
        type="charge.dispute.created",
        payload={
            "id": "evt_1",
            "type": "charge.dispute.created",
            "created": int(NOW.timestamp()),
            "data": {
                "object": {
                    "id": "dp_1",
                    "object": "dispute",
                    "payment_intent": order.stripe_payment_intent_id,
                    "charge": "ch_x",
                    "reason": "fraudulent",
                }
            },
        },
        processed_at=NOW,
        error="Order.DoesNotExist: earlier failure",
    )
    page = agent_client.get(reverse("admin:billing_webhookevent_change", args=[event.pk])).content.decode()
    assert "earlier failure" in page and "fraudulent" in page

    response = agent_client.post(action_url("webhookevent", event, "rerun"), {"reason": "Order exists now"})
    assert response.status_code == 302
    event.refresh_from_db()
    order.refresh_from_db()
    assert event.processed_at is not None
    assert event.attempts == 1
    assert event.error == ""
    assert order.status == Order.Status.DISPUTED
    audit = AuditEntry.objects.get(action="webhook_rerun")
    assert audit.before["error"] == "Order.DoesNotExist: earlier failure"
    assert audit.after["error"] == ""


def test_support_retries_several_stuck_orders_at_once_with_one_reason(
    agent_client, customer, fulfilled_order
):
    paid_at = NOW - timedelta(hours=30)
    stuck = [
        OrderFactory(
            customer=customer,
            card=CardFactory(owner=customer),
            status="paid",
            paid_at=paid_at,
            created_at=paid_at,
        )
        for _ in range(2)
    ]
    changelist = reverse("admin:billing_order_changelist")
    selected = [order.pk for order in [*stuck, fulfilled_order]]
    confirm = agent_client.post(
        changelist, {"action": "staff_retry_fulfilment", "_selected_action": selected}
    )
    assert confirm.status_code == 200
    assert "Reason" in confirm.content.decode()
    assert Order.objects.filter(status="paid").count() == 2  # nothing happens before the reason

    done = agent_client.post(
        changelist,
        {
            "action": "staff_retry_fulfilment",
            "_selected_action": selected,
            "apply": "1",
            "reason": "Worker outage",
        },
        follow=True,
    )
    page = done.content.decode()
    assert "done for 2" in page
    assert fulfilled_order.number in page  # refused: already renewed
    assert Order.objects.filter(pk__in=[order.pk for order in stuck], status="fulfilled").count() == 2
    assert set(AuditEntry.objects.values_list("action", "reason")) == {
        ("order_retry_fulfilment", "Worker outage")
    }
    assert AuditEntry.objects.count() == 2


def test_finance_is_not_offered_the_bulk_actions(finance_client, fulfilled_order):
    response = finance_client.get(reverse("admin:billing_order_changelist"))
    assert response.status_code == 200
    assert "staff_retry_fulfilment" not in response.content.decode()
    refused = finance_client.post(
        reverse("admin:billing_order_changelist"),
        {
            "action": "staff_retry_fulfilment",
            "_selected_action": [fulfilled_order.pk],
            "apply": "1",
            "reason": "x",
        },
    )
    assert not AuditEntry.objects.exists()
    assert refused.status_code in (200, 302)
