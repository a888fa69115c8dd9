"""The EU withdrawal function: 14 days, two steps, the unused proportion back, always acknowledged."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing.models import Invoice, Order, Refund, StartNowRequest, Wallet, Withdrawal
from billing.withdrawal import WithdrawalRefused, withdrawal_make, withdrawal_quote
from notices import sms
from notices.models import Notification
from tests.billing.factories import GB
from tests.billing.invoice_helpers import issue
from tests.usage.card_factories import OwnedCardFactory
from usage.ledger import ledger_append
from usage.models import Card, LedgerEntry


@pytest.fixture
def expired_card(owner):
    """Alice's card, expired yesterday with nothing left: a new week plan starts at payment."""
    now = timezone.now()
    return OwnedCardFactory(
        owner=owner, expires_at=now - timedelta(days=1), data_remaining=0, period_allowance=0
    )


def _buy(client, card, *, start_now=True):
    data = {"plan": "week", "card": card.pk}
    if start_now:
        data["start_now"] = "on"
    response = client.post(reverse("billing:checkout"), data)
    return response, Order.objects.order_by("-id").first()


@pytest.fixture
def bought(owner_client, expired_card, week_plan, demo_mode):
    """A week plan (5 GB, 7 days, €14.90) bought at checkout with the start-now box ticked, renewed."""
    _response, order = _buy(owner_client, expired_card)
    owner_client.post(reverse("billing:demo_checkout", args=[order.number]), {"outcome": "pay"})
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED, order.status
    mail.outbox.clear()
    sms.outbox.clear()
    return order


def _use(card: Card, byte_count: int) -> None:
    with transaction.atomic():
        card = Card.objects.select_for_update().get(pk=card.pk)
        ledger_append(
            card=card, kind=LedgerEntry.Kind.USAGE, data_delta=-byte_count, expires_after=card.expires_at,
            now=timezone.now(),
        )  # fmt: skip


def test_checkout_requires_the_start_now_request_and_keeps_its_wording(
    owner_client, expired_card, week_plan, demo_mode
):
    refused, _nothing = _buy(owner_client, expired_card, start_now=False)
    assert refused.status_code == 400
    assert not Order.objects.exists()
    assert "withdrawal" in refused.content.decode()

    _response, order = _buy(owner_client, expired_card)

    request = StartNowRequest.objects.get(order=order)
    assert request.language == "en"
    assert "14-day withdrawal period" in request.text


def test_the_order_page_offers_the_withdrawal_function_for_fourteen_days(owner_client, bought):
    page = owner_client.get(reverse("billing:order_status", args=[bought.number]))
    receipt = owner_client.get(reverse("billing:receipt", args=[bought.number]))

    assert "Withdraw from this purchase" in page.content.decode()
    assert "Withdraw from this purchase" in receipt.content.decode()


def test_withdrawing_at_once_refunds_everything_and_takes_the_plan_off_the_card(
    owner_client, bought, expired_card
):
    step_one = owner_client.get(reverse("billing:withdraw", args=[bought.number]))
    assert step_one.status_code == 200
    assert "€14.90" in step_one.content.decode()
    assert Withdrawal.objects.count() == 0  # step one changes nothing

    step_two = owner_client.post(reverse("billing:withdraw", args=[bought.number]))

    assert step_two.status_code == 302
    withdrawal = Withdrawal.objects.get()
    bought.refresh_from_db()
    expired_card.refresh_from_db()
    assert withdrawal.refund_cents == 1490
    assert bought.status == Order.Status.REFUNDED
    assert expired_card.data_remaining == 0
    assert expired_card.expires_at <= timezone.now() + timedelta(seconds=5)


def test_a_partly_used_plan_refunds_only_the_proportion_not_yet_provided(
    owner_client, bought, expired_card, time_machine
):
    time_machine.move_to(timezone.now() + timedelta(days=1))  # 6 of 7 days still ahead
    _use(expired_card, 3 * GB)  # 2 of 5 GB still unused: the smaller share, 40 %

    quote = withdrawal_quote(order=bought, now=timezone.now())
    client = Client()
    client.force_login(bought.customer)
    client.post(reverse("billing:withdraw", args=[bought.number]))

    withdrawal = Withdrawal.objects.get()
    assert (quote.data_unused, quote.refund_cents) == (pytest.approx(0.4), 596)  # 40 % of 14.90
    assert withdrawal.refund_cents == 596
    assert (withdrawal.data_unused_bp, withdrawal.time_unused_bp) == (4000, pytest.approx(8571, abs=2))
    expired_card.refresh_from_db()
    assert expired_card.data_remaining == 0  # the unused 2 GB of this plan are taken back
    refund = Refund.objects.get()
    assert (refund.amount_cents, refund.destination) == (596, Refund.Destination.WALLET)  # demo: no Stripe
    assert Wallet.objects.get(user=bought.customer).balance_cents == 596


def test_after_fourteen_days_the_function_is_gone(bought, time_machine):
    time_machine.move_to(bought.paid_at + timedelta(days=14, minutes=1))
    client = Client()
    client.force_login(bought.customer)

    page = client.get(reverse("billing:order_status", args=[bought.number]))
    attempt = client.post(reverse("billing:withdraw", args=[bought.number]))

    assert "Withdraw from this purchase" not in page.content.decode()
    assert attempt.status_code == 302
    assert not Withdrawal.objects.exists()
    with pytest.raises(WithdrawalRefused, match="14 days"):
        withdrawal_make(order=bought, user=bought.customer, now=timezone.now())


def test_a_plan_used_up_cannot_be_withdrawn_from(bought, expired_card):
    _use(expired_card, 5 * GB)

    with pytest.raises(WithdrawalRefused, match="used up"):
        withdrawal_make(order=bought, user=bought.customer, now=timezone.now())
    assert not Withdrawal.objects.exists()


def test_confirming_twice_withdraws_once(owner_client, bought):
    owner_client.post(reverse("billing:withdraw", args=[bought.number]))
    owner_client.post(reverse("billing:withdraw", args=[bought.number]))

    assert Withdrawal.objects.count() == 1
    assert Refund.objects.count() == 1


def test_an_outsider_cannot_withdraw_from_someone_elses_purchase(outsider_client, bought):
    assert outsider_client.get(reverse("billing:withdraw", args=[bought.number])).status_code == 404
    assert outsider_client.post(reverse("billing:withdraw", args=[bought.number])).status_code == 404
    assert not Withdrawal.objects.exists()


def test_an_email_customer_gets_the_acknowledgement_with_date_and_time_by_email(owner_client, bought):
    owner_client.post(reverse("billing:withdraw", args=[bought.number]))

    withdrawal = Withdrawal.objects.get()
    [message] = [message for message in mail.outbox if bought.number in message.subject]
    assert message.to == ["alice@example.com"]
    assert "Monaco time" in message.body and "€14.90" in message.body
    assert withdrawal.acknowledged_on == "email"
    receipt = owner_client.get(reverse("billing:receipt", args=[bought.number]))
    assert "Withdrawn" in receipt.content.decode()


def test_a_phone_only_customer_gets_the_acknowledgement_by_sms(owner, owner_client, bought):
    owner.email = None
    owner.phone_verified = True  # they log in by SMS code
    owner.notify_sms = False  # even so: an acknowledgement must reach them
    owner.save(update_fields=["email", "phone_verified", "notify_sms"])

    owner_client.post(reverse("billing:withdraw", args=[bought.number]))

    withdrawal = Withdrawal.objects.get()
    assert withdrawal.acknowledged_on == "sms"
    [to] = [message.to for message in sms.outbox if bought.number in message.body]
    assert to == owner.phone
    assert Notification.objects.filter(kind="withdrawal_acknowledgement", channel="sms").exists()


def test_an_invoiced_order_gets_a_withdrawal_credit_note(owner_client, bought):
    issue(bought)

    owner_client.post(reverse("billing:withdraw", args=[bought.number]))

    note = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)
    assert (note.reason, note.gross_cents) == (Invoice.Reason.WITHDRAWAL, -1490)


def test_without_a_start_now_request_everything_is_refunded(bought, expired_card):
    StartNowRequest.objects.filter(order=bought).delete()
    _use(expired_card, 4 * GB)

    withdrawal = withdrawal_make(order=bought, user=bought.customer, now=timezone.now())

    assert withdrawal.refund_cents == 1490


def test_a_card_payment_goes_back_to_the_card_through_stripe(
    owner_client, expired_card, week_plan, fake_stripe
):
    _response, order = _buy(owner_client, expired_card)
    fake_stripe.session_pay(order.stripe_checkout_session_id)
    owner_client.get(
        reverse("billing:order_status", args=[order.number])
        + f"?session_id={order.stripe_checkout_session_id}"
    )

    owner_client.post(reverse("billing:withdraw", args=[order.number]))

    [call] = fake_stripe.calls_to("POST", "/v1/refunds")
    assert call.params["amount"] == "1490"
    withdrawal = Withdrawal.objects.get()
    assert (withdrawal.to_method_cents, withdrawal.to_wallet_cents) == (1490, 0)
    assert withdrawal.method_refund.stripe_refund_id.startswith("re_")


def test_support_sees_withdrawals_as_such_in_the_admin(admin_client, owner_client, bought):
    owner_client.post(reverse("billing:withdraw", args=[bought.number]))

    listing = admin_client.get(reverse("admin:billing_withdrawal_changelist"))
    order_page = admin_client.get(reverse("admin:billing_order_change", args=[bought.pk]))

    assert bought.number in listing.content.decode()
    assert "Withdrawal" in order_page.content.decode()


def test_a_refund_on_its_way_is_not_offered_again(bought, expired_card):
    # Support refunded €10 to the card; Stripe has not confirmed it yet (it may still succeed).
    Refund.objects.create(
        order=bought,
        amount_cents=1000,
        currency="EUR",
        destination=Refund.Destination.ORIGINAL_METHOD,
        status=Refund.Status.PENDING,
        created_at=timezone.now(),
    )
    StartNowRequest.objects.filter(order=bought).delete()

    assert withdrawal_quote(order=bought, now=timezone.now()).refund_cents == 490
