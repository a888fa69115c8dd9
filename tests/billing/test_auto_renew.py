"""Auto-renew: wallet first, then the saved card off-session; a failure notifies once, never loops."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from billing import renew_links
from billing.autorenew import auto_renewals_run
from billing.models import AutoRenewal, Order, RenewLink, WalletEntry
from billing.selectors import wallet_balance_cents
from billing.stripe_client import installation_prefix
from billing.wallet import wallet_move
from usage.models import LedgerEntry


@pytest.fixture
def due_card(card):
    """Expires in 20 hours: inside the 24-hour window."""
    card.expires_at = timezone.now() + timedelta(hours=20)
    card.save()
    return card


def consent(owner, card, plan, **saved):
    return AutoRenewal.objects.create(
        card=card,
        user=owner,
        plan=plan,
        enabled=True,
        consent_text="I agree",
        consented_at=timezone.now(),
        **saved,
    )


SAVED_CARD = {
    "stripe_customer_id": "cus_saved",
    "stripe_payment_method_id": "pm_saved",
    "payment_method_type": "card",
}


def test_the_wallet_pays_first_and_stripe_is_not_called(owner, due_card, week_plan, fake_stripe):
    wallet_move(user=owner, amount_cents=2000, kind=WalletEntry.Kind.GOODWILL, now=timezone.now())
    consent(owner, due_card, week_plan)
    expires_before = due_card.expires_at

    assert auto_renewals_run(now=timezone.now()) == 1

    due_card.refresh_from_db()
    order = Order.objects.get()
    assert (order.origin, order.status, order.payment_method_type) == ("auto_renewal", "fulfilled", "wallet")
    assert due_card.expires_at == expires_before + timedelta(days=7)
    assert fake_stripe.calls == []
    assert AutoRenewal.objects.get().last_attempt_state == "succeeded"


def test_the_saved_card_is_charged_off_session_for_what_credit_does_not_cover(
    owner, due_card, week_plan, fake_stripe
):
    wallet_move(user=owner, amount_cents=490, kind=WalletEntry.Kind.GOODWILL, now=timezone.now())
    consent(owner, due_card, week_plan, **SAVED_CARD)

    auto_renewals_run(now=timezone.now())

    [call] = fake_stripe.calls_to("POST", "/v1/payment_intents")
    order = Order.objects.get()
    assert call.params["amount"] == "1000"
    assert call.params["off_session"] == "true"
    assert call.params["confirm"] == "true"
    assert (call.params["customer"], call.params["payment_method"]) == ("cus_saved", "pm_saved")
    assert call.headers["idempotency-key"].startswith(
        f"{installation_prefix()}-off-session-payment-{order.pk}-"
    )
    assert order.status == Order.Status.FULFILLED
    assert LedgerEntry.objects.filter(order_id=order.pk, kind="topup").count() == 1


@pytest.mark.parametrize(
    ("outcome", "state", "words"),
    [
        ("card_declined", "declined", "was declined"),
        ("authentication_required", "authentication_required", "Your bank asked to confirm"),
    ],
)
def test_a_failed_payment_notifies_once_with_a_pay_link_and_does_not_retry(
    owner, due_card, week_plan, fake_stripe, outcome, state, words
):
    wallet_move(user=owner, amount_cents=490, kind=WalletEntry.Kind.GOODWILL, now=timezone.now())
    consent(owner, due_card, week_plan, **SAVED_CARD)
    fake_stripe.off_session_outcome = outcome

    auto_renewals_run(now=timezone.now())
    auto_renewals_run(now=timezone.now() + timedelta(minutes=2))
    auto_renewals_run(now=timezone.now() + timedelta(hours=1))

    assert len(fake_stripe.calls_to("POST", "/v1/payment_intents")) == 1
    order = Order.objects.get()
    auto_renewal = AutoRenewal.objects.get()
    assert order.status == Order.Status.FAILED
    assert auto_renewal.last_attempt_state == state
    assert wallet_balance_cents(user=owner) == 490  # the credit came back
    [email] = mail.outbox
    assert words in email.body
    # The pay link is a card-scoped renew link: it works without a login, from any device.
    token = re.search(r"/r/([A-Za-z0-9_-]{22})\b", email.body).group(1)
    assert RenewLink.objects.get(token_hash=renew_links.token_hash(token)).card == due_card


def test_without_credit_or_a_saved_method_it_asks_the_traveller_to_pay(
    owner, due_card, week_plan, fake_stripe
):
    consent(owner, due_card, week_plan)

    auto_renewals_run(now=timezone.now())
    auto_renewals_run(now=timezone.now())

    assert not Order.objects.exists()
    assert AutoRenewal.objects.get().last_attempt_state == "no_payment_method"
    [email] = mail.outbox
    assert "not enough account credit" in email.body


def test_a_card_that_has_used_90_percent_is_renewed(owner, card, week_plan, fake_stripe):
    card.expires_at = timezone.now() + timedelta(days=5)
    card.period_allowance = 5_000_000_000
    card.data_remaining = 400_000_000
    card.save()
    wallet_move(user=owner, amount_cents=1490, kind=WalletEntry.Kind.GOODWILL, now=timezone.now())
    consent(owner, card, week_plan)

    assert auto_renewals_run(now=timezone.now()) == 1


def test_a_card_far_from_expiry_with_data_left_is_left_alone(owner, card, week_plan, fake_stripe):
    wallet_move(user=owner, amount_cents=1490, kind=WalletEntry.Kind.GOODWILL, now=timezone.now())
    consent(owner, card, week_plan)  # 5 days left, 3.2 of 5 GB

    assert auto_renewals_run(now=timezone.now()) == 0
    assert not Order.objects.exists()


def test_disabled_auto_renew_does_nothing(owner, due_card, week_plan, fake_stripe):
    wallet_move(user=owner, amount_cents=1490, kind=WalletEntry.Kind.GOODWILL, now=timezone.now())
    AutoRenewal.objects.create(card=due_card, user=owner, plan=week_plan, enabled=False)

    assert auto_renewals_run(now=timezone.now()) == 0


def test_a_method_saved_at_checkout_is_kept_for_auto_renew(owner_client, owner, card, week_plan, fake_stripe):
    consent(owner, card, week_plan)
    owner_client.post(reverse("billing:checkout"), {"start_now": "on", "plan": "week", "card": card.pk})
    order = Order.objects.get()
    fake_stripe.session_pay(order.stripe_checkout_session_id)

    owner_client.get(
        reverse("billing:order_status", args=[order.number])
        + f"?session_id={order.stripe_checkout_session_id}"
    )

    auto_renewal = AutoRenewal.objects.get()
    assert auto_renewal.stripe_payment_method_id.startswith("pm_fake")
    assert auto_renewal.stripe_customer_id == order.stripe_customer_id
    assert auto_renewal.payment_method_label == "Visa •••• 4242"


def test_alipay_is_not_saved_and_the_page_says_the_wallet_is_the_way(
    owner_client, owner, card, week_plan, fake_stripe
):
    consent(owner, card, week_plan)
    fake_stripe.payment_method_type = "alipay"
    owner_client.post(reverse("billing:checkout"), {"start_now": "on", "plan": "week", "card": card.pk})
    order = Order.objects.get()
    fake_stripe.session_pay(order.stripe_checkout_session_id)
    owner_client.get(
        reverse("billing:order_status", args=[order.number])
        + f"?session_id={order.stripe_checkout_session_id}"
    )

    page = owner_client.get(reverse("billing:auto_renew", args=[card.pk])).content.decode()

    assert AutoRenewal.objects.get().stripe_payment_method_id == ""
    assert "Alipay and WeChat Pay cannot be saved" in page
    assert "auto-renew uses your account credit" in page


def test_turning_auto_renew_on_records_the_consent_as_shown(owner_client, card, week_plan):
    response = owner_client.post(
        reverse("billing:auto_renew", args=[card.pk]), {"enabled": "on", "plan": "week", "consent": "on"}
    )

    assert response.status_code == 302
    auto_renewal = AutoRenewal.objects.get()
    assert auto_renewal.enabled
    assert auto_renewal.consented_at is not None
    assert "within 24 hours of expiry or has used 90% of its data" in auto_renewal.consent_text
    assert "Week 5 GB" in auto_renewal.consent_text


def test_auto_renew_needs_the_box_ticked(owner_client, card, week_plan):
    owner_client.post(reverse("billing:auto_renew", args=[card.pk]), {"enabled": "on", "plan": "week"})

    assert not AutoRenewal.objects.filter(enabled=True).exists()


def test_auto_renew_of_someone_elses_card_is_not_found(outsider_client, card, week_plan):
    assert outsider_client.get(reverse("billing:auto_renew", args=[card.pk])).status_code == 404
    response = outsider_client.post(
        reverse("billing:auto_renew", args=[card.pk]), {"enabled": "on", "plan": "week", "consent": "on"}
    )
    assert response.status_code == 404
    assert not AutoRenewal.objects.exists()


def test_an_off_session_payment_that_fails_later_is_reported_by_webhook(
    client, owner, due_card, week_plan, fake_stripe
):
    from tests.billing.conftest import post_event, stripe_event

    consent(owner, due_card, week_plan, **SAVED_CARD)
    fake_stripe.off_session_outcome = "processing"
    auto_renewals_run(now=timezone.now())
    order = Order.objects.get()
    assert order.status == Order.Status.PENDING
    intent = {
        "id": order.stripe_payment_intent_id,
        "object": "payment_intent",
        "status": "requires_payment_method",
        "metadata": {"order_id": str(order.pk)},
        "last_payment_error": {"code": "card_declined", "message": "Your card was declined."},
    }

    post_event(client, stripe_event("payment_intent.payment_failed", intent))

    order.refresh_from_db()
    assert order.status == Order.Status.FAILED
    assert AutoRenewal.objects.get().last_attempt_state == "declined"
    [email] = mail.outbox
    assert "was declined" in email.body


def test_opted_in_the_forecast_trigger_renews_when_data_runs_out_within_24_hours(
    owner, card, week_plan, fake_stripe
):
    from tests.usage.card_factories import usage_entry
    from usage.models import UsageRecord

    # 11 GB, 7 days in at 1.4 GB a day, 1.2 GB left (11 %, above the 90 % mark): runs out in about
    # 21 hours, two days before expiry.
    card.period_started_at = timezone.now() - timedelta(days=7)
    card.period_allowance, card.data_remaining = 11 * 10**9, 1_200_000_000
    card.expires_at = timezone.now() + timedelta(days=3)
    card.usage_updated_at = timezone.now()
    card.save()
    entry = usage_entry(card)
    UsageRecord.objects.bulk_create(
        UsageRecord(
            record_id=f"day-{day}",
            card=card,
            ledger_entry=entry,
            start=timezone.now() - timedelta(days=day, hours=1),
            end=timezone.now() - timedelta(days=day),
            bytes=1_400_000_000,
        )
        for day in range(1, 8)
    )
    wallet_move(user=owner, amount_cents=2000, kind=WalletEntry.Kind.GOODWILL, now=timezone.now())
    auto_renewal = consent(owner, card, week_plan)

    assert auto_renewals_run(now=timezone.now()) == 0  # not opted in: 24 h / 90 % only

    auto_renewal.on_runout = True
    auto_renewal.save()
    assert auto_renewals_run(now=timezone.now()) == 1
    assert Order.objects.get().origin == Order.Origin.AUTO_RENEWAL
    assert auto_renewals_run(now=timezone.now()) == 0  # once per validity period


def test_the_forecast_trigger_is_in_the_consent_text_when_chosen(owner, card, week_plan, client):
    client.force_login(owner)
    response = client.post(
        reverse("billing:auto_renew", args=[card.pk]),
        {"enabled": "on", "on_runout": "on", "plan": week_plan.code, "consent": "on"},
    )

    assert response.status_code == 302
    auto_renewal = AutoRenewal.objects.get()
    assert auto_renewal.on_runout
    assert "would run out within 24 hours" in auto_renewal.consent_text
