"""Checkout through Stripe (the official client against the local fake Stripe server)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from billing.models import AutoRenewal, Order, Wallet, WalletEntry
from billing.stripe_client import installation_prefix
from billing.wallet import wallet_move
from usage.models import LedgerEntry


def start_checkout(client, card, plan="week", **extra):
    return client.post(
        reverse("billing:checkout"), {"start_now": "on", "plan": plan, "card": card.pk, **extra}
    )


def test_it_sends_the_traveller_to_a_checkout_session_built_from_the_order(
    owner_client, owner, card, week_plan, fake_stripe
):
    response = start_checkout(owner_client, card)

    order = Order.objects.get()
    [call] = fake_stripe.calls_to("POST", "/v1/checkout/sessions")
    session = fake_stripe.sessions[order.stripe_checkout_session_id]
    params = session["_params"]
    assert response.status_code == 302
    assert response.url == session["url"]
    assert params["mode"] == "payment"
    assert params["client_reference_id"] == str(order.pk)
    assert params["metadata"] == {
        "order_id": str(order.pk),
        "order_number": order.number,
        "installation": installation_prefix(),
    }
    assert params["payment_intent_data"]["metadata"] == params["metadata"]  # copied to the charge
    assert params["line_items"][0]["price_data"]["unit_amount"] == "1490"
    assert params["line_items"][0]["price_data"]["currency"] == "eur"
    assert params["locale"] == "en"
    assert "payment_method_types" not in params  # whatever is enabled on the account
    # Nothing saved without auto-renew consent; WeChat Pay told it pays from a browser.
    assert params["payment_method_options"] == {"wechat_pay": {"client": "web"}}
    assert params["success_url"].endswith(
        reverse("billing:order_status", args=[order.number]) + "?session_id={CHECKOUT_SESSION_ID}"
    )
    assert params["cancel_url"].endswith(reverse("billing:order_cancel", args=[order.number]))
    assert call.headers["idempotency-key"].startswith(f"{installation_prefix()}-checkout-session-{order.pk}-")
    # Email and phone prefilled through the Stripe customer.
    [customer_call] = fake_stripe.calls_to("POST", "/v1/customers")
    assert customer_call.params["email"] == "alice@example.com"
    assert customer_call.params["phone"] == "+37761234567"
    assert params["customer"] == order.stripe_customer_id


def test_stripe_sends_the_traveller_back_to_site_url_whatever_host_the_request_came_with(
    owner_client, card, week_plan, fake_stripe, settings
):
    settings.SITE_URL = "http://127.0.0.1:8101"  # dev.py run on PORT=8101; the request says testserver
    start_checkout(owner_client, card)

    order = Order.objects.get()
    params = fake_stripe.sessions[order.stripe_checkout_session_id]["_params"]
    status = reverse("billing:order_status", args=[order.number])
    assert params["success_url"] == f"http://127.0.0.1:8101{status}?session_id={{CHECKOUT_SESSION_ID}}"
    assert params["cancel_url"] == "http://127.0.0.1:8101" + reverse(
        "billing:order_cancel", args=[order.number]
    )


def test_checkout_speaks_the_travellers_language(owner_client, owner, card, week_plan, fake_stripe):
    owner.language = "zh-hans"
    owner.save()

    start_checkout(owner_client, card)

    [session] = fake_stripe.sessions.values()
    assert session["locale"] == "zh"


def test_a_retried_session_request_gets_the_same_session(owner, card, week_plan, fake_stripe):
    from billing import stripe_client
    from billing.services import order_create

    order = order_create(user=owner, plan=week_plan, card=card, now=timezone.now())
    first = stripe_client.checkout_session_create(
        order=order, success_url="https://x/s", cancel_url="https://x/c"
    )
    second = stripe_client.checkout_session_create(
        order=order, success_url="https://x/s", cancel_url="https://x/c"
    )

    assert first.id == second.id
    assert len(fake_stripe.sessions) == 1


def test_auto_renew_consent_asks_checkout_to_save_a_card_or_paypal(
    owner_client, owner, card, week_plan, fake_stripe
):
    AutoRenewal.objects.create(
        card=card, user=owner, plan=week_plan, enabled=True, consented_at=timezone.now()
    )

    start_checkout(owner_client, card)

    [session] = fake_stripe.sessions.values()
    assert session["_params"]["payment_method_options"] == {
        "card": {"setup_future_usage": "off_session"},
        "paypal": {"setup_future_usage": "off_session"},
        "wechat_pay": {"client": "web"},  # WeChat Pay cannot be saved
    }
    assert "setup_future_usage" not in session["_params"].get("payment_intent_data", {})


def test_when_stripe_is_down_nothing_is_charged_and_the_credit_comes_back(
    owner_client, owner, card, week_plan, fake_stripe
):
    wallet_move(user=owner, amount_cents=500, kind=WalletEntry.Kind.GOODWILL, now=timezone.now())
    fake_stripe.fail_all = True

    response = start_checkout(owner_client, card, apply_wallet="on")

    assert response.status_code == 302
    page = owner_client.get(response.url).content.decode()
    assert "The payment service did not answer" in page
    order = Order.objects.get()
    assert order.status == Order.Status.FAILED
    assert Wallet.objects.get(user=owner).balance_cents == 500


def test_a_checkout_retried_after_a_stripe_error_and_a_name_change_goes_through(
    owner_client, owner, card, week_plan, fake_stripe
):
    """Stripe keeps a key's first answer for a day (500s too) and refuses the key with other
    parameters: a retry must send a key of its own, not the first attempt's."""
    fake_stripe.fail_next = 1  # the customer creation answers 500 (its retries get the saved 500)
    start_checkout(owner_client, card)
    assert Order.objects.get().status == Order.Status.FAILED
    owner.name = "Alice Martin-Rossi"
    owner.save()

    response = start_checkout(owner_client, card)

    retried = Order.objects.latest("pk")
    assert response.status_code == 302
    assert response.url.startswith("https://checkout.stripe.com/")
    assert retried.status == Order.Status.PENDING
    keys = [call.headers["idempotency-key"] for call in fake_stripe.calls_to("POST", "/v1/customers")]
    assert len(set(keys)) == 2  # the first key (and its saved 500) is never sent again
    assert all(key.startswith(installation_prefix() + "-customer-for-order-") for key in keys)
    assert not any(
        call.params.get("name") is None for call in fake_stripe.calls_to("POST", "/v1/customers")[-1:]
    )


def test_two_installations_sharing_a_stripe_account_send_different_keys(owner, card, week_plan, settings):
    from billing.stripe_client import idempotency_key

    params = {"amount": 1490}
    settings.SITE_URL = "https://portal.example.com"
    production = idempotency_key(purpose="refund", object_id=1, params=params)
    settings.SITE_URL = "https://staging.portal.example.com"
    staging = idempotency_key(purpose="refund", object_id=1, params=params)
    settings.STRIPE_IDEMPOTENCY_PREFIX = "portal-laptop"
    laptop = idempotency_key(purpose="refund", object_id=1, params=params)

    assert len({production, staging, laptop}) == 3
    assert laptop.startswith("portal-laptop-refund-1-")
    assert idempotency_key(purpose="refund", object_id=1, params={"amount": 1491}) != laptop


def test_the_success_page_fulfils_a_paid_session_before_any_webhook(
    owner_client, card, week_plan, fake_stripe
):
    start_checkout(owner_client, card)
    order = Order.objects.get()
    expires_before = card.expires_at
    fake_stripe.session_pay(order.stripe_checkout_session_id)

    response = owner_client.get(
        reverse("billing:order_status", args=[order.number])
        + f"?session_id={order.stripe_checkout_session_id}"
    )

    order.refresh_from_db()
    card.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert card.expires_at == expires_before + timedelta(days=7)
    assert "Done — valid until" in response.content.decode()
    # The charge and the method, fetched after payment, are on the order for receipts and finance.
    assert order.stripe_charge_id.startswith("ch_fake")
    assert order.payment_method_type == "card"
    assert len(mail.outbox) == 1


def test_the_success_page_leaves_an_unpaid_session_waiting(owner_client, card, week_plan, fake_stripe):
    start_checkout(owner_client, card)
    order = Order.objects.get()

    response = owner_client.get(
        reverse("billing:order_status", args=[order.number])
        + f"?session_id={order.stripe_checkout_session_id}"
    )

    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert "Waiting for the payment to be confirmed" in response.content.decode()
    assert not LedgerEntry.objects.filter(order_id=order.pk).exists()


def test_the_success_page_ignores_a_session_id_that_is_not_the_orders(
    owner_client, card, week_plan, fake_stripe
):
    start_checkout(owner_client, card)
    order = Order.objects.get()
    fake_stripe.session_pay(order.stripe_checkout_session_id)

    owner_client.get(
        reverse("billing:order_status", args=[order.number]) + "?session_id=cs_test_someone_else"
    )

    assert not fake_stripe.calls_to("GET", r"/v1/checkout/sessions/.*")
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING


def test_cancelling_expires_the_stripe_session_first(owner_client, card, week_plan, fake_stripe):
    start_checkout(owner_client, card)
    order = Order.objects.get()

    owner_client.post(reverse("billing:order_cancel", args=[order.number]))

    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert fake_stripe.sessions[order.stripe_checkout_session_id]["status"] == "expired"


def test_cancelling_a_session_paid_meanwhile_fulfils_instead(owner_client, card, week_plan, fake_stripe):
    start_checkout(owner_client, card)
    order = Order.objects.get()
    fake_stripe.session_pay(order.stripe_checkout_session_id)

    owner_client.post(reverse("billing:order_cancel", args=[order.number]))

    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED


@pytest.mark.parametrize("balance", [1490, 5000])
def test_an_order_covered_by_credit_is_paid_and_renewed_without_stripe(
    owner_client, owner, card, week_plan, fake_stripe, balance
):
    wallet_move(user=owner, amount_cents=balance, kind=WalletEntry.Kind.GOODWILL, now=timezone.now())
    expires_before = card.expires_at

    response = start_checkout(owner_client, card, apply_wallet="on")

    order = Order.objects.get()
    card.refresh_from_db()
    assert response.url == reverse("billing:order_status", args=[order.number])
    assert fake_stripe.calls == []
    assert order.status == Order.Status.FULFILLED
    assert (order.wallet_applied_cents, order.amount_charged_cents, order.payment_method_type) == (
        1490,
        0,
        "wallet",
    )
    assert card.expires_at == expires_before + timedelta(days=7)
    assert Wallet.objects.get(user=owner).balance_cents == balance - 1490
    entry = WalletEntry.objects.get(order=order)
    assert (entry.kind, entry.amount_cents) == ("order_payment", -1490)


def test_partial_credit_lowers_what_stripe_charges(owner_client, owner, card, week_plan, fake_stripe):
    wallet_move(user=owner, amount_cents=490, kind=WalletEntry.Kind.GOODWILL, now=timezone.now())

    start_checkout(owner_client, card, apply_wallet="on")

    order = Order.objects.get()
    [session] = fake_stripe.sessions.values()
    assert (order.wallet_applied_cents, order.amount_charged_cents) == (490, 1000)
    assert session["amount_total"] == 1000
    assert Wallet.objects.get(user=owner).balance_cents == 0


def test_credit_is_not_used_unless_the_traveller_asks(owner_client, owner, card, week_plan, fake_stripe):
    wallet_move(user=owner, amount_cents=490, kind=WalletEntry.Kind.GOODWILL, now=timezone.now())

    start_checkout(owner_client, card)

    assert Order.objects.get().amount_charged_cents == 1490
    assert Wallet.objects.get(user=owner).balance_cents == 490


def test_polling_asks_stripe_now_and_then_until_the_session_is_paid(
    owner_client, card, week_plan, fake_stripe
):
    start_checkout(owner_client, card)
    order = Order.objects.get()
    status_json = reverse("billing:order_status_json", args=[order.number])

    first = owner_client.get(status_json).json()
    fake_stripe.session_pay(order.stripe_checkout_session_id)
    soon_after = owner_client.get(status_json).json()  # within 5 s: Stripe is not asked again
    from django.core.cache import cache

    cache.clear()  # 5 s later
    later = owner_client.get(status_json).json()

    assert (first["state"], soon_after["state"], later["state"]) == ("waiting", "waiting", "done")
    assert len(fake_stripe.calls_to("GET", r"/v1/checkout/sessions/.*")) == 2
