"""Card-scoped renew links (billing.renew_links): scope, expiry, revocation, tampering, outsiders."""

import logging
import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing import renew_links
from billing.models import Order, RenewLink, Wallet, WalletEntry
from billing.tasks import card_alerts_send_task
from notices import sms
from tests.usage.card_factories import GB, OwnedCardFactory

LINK = re.compile(r"https?://[^/\s]+/r/([A-Za-z0-9_-]{22})\b")


@pytest.fixture
def link(card):
    _link, token = renew_links.renew_link_create(card=card, purpose="card_data_90", now=timezone.now())
    return token


def opened(token: str, client: Client | None = None) -> Client:
    browser = client or Client()
    response = browser.get(reverse("billing:renew_link_open", args=[token]))
    assert response.status_code == 303, response.status_code
    assert response["Location"] == reverse("billing:renew")
    return browser


def test_every_alert_carries_a_renew_link_and_only_its_hash_is_stored(
    owner, card, django_capture_on_commit_callbacks
):
    owner.phone_verified, owner.notify_sms = True, True
    owner.save()
    card.data_remaining = card.period_allowance // 20  # 95 % used
    card.save()
    with django_capture_on_commit_callbacks(execute=True):
        assert card_alerts_send_task() == 2

    [email] = mail.outbox
    [text] = sms.outbox
    token = LINK.search(email.body).group(1)
    assert LINK.search(text.body).group(1) == token  # one link per alert, on both channels
    [stored] = RenewLink.objects.all()
    assert stored.token_hash == renew_links.token_hash(token)
    assert token not in str(list(RenewLink.objects.values()))
    assert stored.card == card and stored.owner == owner and stored.purpose == "card_data_90"
    assert stored.expires_at - stored.created_at == timedelta(hours=72)


def test_the_link_opens_that_cards_renew_page_without_a_login_and_leaves_the_address(card, link):
    browser = Client()
    response = browser.get(reverse("billing:renew_link_open", args=[link]))

    assert response.status_code == 303
    assert response["Referrer-Policy"] == "no-referrer"
    cookie = response.cookies[renew_links.SCOPE_COOKIE]
    assert cookie["path"] == "/renew/" and cookie["httponly"] and cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) == 30 * 60

    page = browser.get(reverse("billing:renew"))
    html = page.content.decode()
    assert page.status_code == 200
    assert page["Referrer-Policy"] == "no-referrer"
    assert "no-store" in page["Cache-Control"]
    assert "3.2 GB" in html and "(Monaco time, CET)" in html
    assert f"eSIM\u00a0…\u2060{card.iccid[-6:]}" in html
    assert link not in html
    for private in (card.owner.email, card.owner.phone, card.iccid, card.owner.name):
        assert private not in html


def test_paying_through_the_link_is_a_normal_order_of_the_owner_without_credit_or_saved_methods(
    owner, card, link, week_plan, demo_mode, django_capture_on_commit_callbacks
):
    Wallet.objects.create(user=owner, balance_cents=10_000)
    browser = opened(link)

    response = browser.post(reverse("billing:renew"), {"plan": week_plan.code, "start_now": "on"})

    order = Order.objects.get()
    assert order.customer == owner and order.card == card
    assert order.renew_link.token_hash == renew_links.token_hash(link)
    assert order.wallet_applied_cents == 0 and order.amount_charged_cents == week_plan.price_cents
    assert not order.save_payment_method
    assert not WalletEntry.objects.exists()
    assert response["Location"] == reverse("billing:renew_demo_checkout", args=[order.number])
    with django_capture_on_commit_callbacks(execute=True):
        paid = browser.post(response["Location"], {"outcome": "pay"})
    assert paid["Location"] == reverse("billing:renew_order_status", args=[order.number])
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    status = browser.get(paid["Location"]).content.decode()
    assert "Paid" in status and "Renewed in the portal" in status
    assert reverse("billing:receipt", args=[order.number]) not in status  # the receipt is the owner's
    [confirmation] = [message for message in mail.outbox if order.number in message.subject + message.body]
    assert confirmation.to == [owner.email]


def test_without_the_request_to_start_now_no_order_is_made(card, link, week_plan, demo_mode):
    from billing.models import StartNowRequest

    browser = opened(link)
    refused = browser.post(reverse("billing:renew"), {"plan": week_plan.code})

    assert refused.status_code == 400
    assert "Tick the box to ask for your plan to start now" in refused.content.decode()
    assert not Order.objects.exists()
    browser.post(reverse("billing:renew"), {"plan": week_plan.code, "start_now": "on"})
    assert StartNowRequest.objects.get().order == Order.objects.get()


def test_stripe_checkout_gets_no_customer_and_no_prefilled_email(owner, card, link, week_plan, settings):
    from billing import stripe_client

    captured = {}

    class Sessions:
        def create(self, params, options):
            captured.update(params)
            return type(
                "Session", (), {"id": "cs_test_renew", "url": "https://checkout.stripe.com/c/pay/x"}
            )()

    class FakeStripe:
        class v1:
            class checkout:
                sessions = Sessions()

    settings.PAYMENTS_DEMO_MODE = False
    settings.SITE_URL = "https://portal.example.com"  # the request below comes as Host: testserver
    stripe_client._client.cache_clear()
    original = stripe_client.stripe_client
    stripe_client.stripe_client = lambda: FakeStripe
    try:
        response = opened(link).post(reverse("billing:renew"), {"plan": week_plan.code, "start_now": "on"})
    finally:
        stripe_client.stripe_client = original

    assert response["Location"] == "https://checkout.stripe.com/c/pay/x"
    assert "customer" not in captured and "customer_email" not in captured
    # Nothing saved for later (no setup_future_usage); WeChat Pay is told it pays from a browser.
    assert captured["payment_method_options"] == {"wechat_pay": {"client": "web"}}
    # Back to the site's address, as every link we send: never to the Host the request came with.
    assert captured["success_url"].startswith("https://portal.example.com/renew/orders/")
    assert captured["cancel_url"] == "https://portal.example.com" + reverse("billing:renew")
    assert Order.objects.get().stripe_customer_id == ""


def test_a_link_allows_a_bounded_number_of_payments(card, link, week_plan, demo_mode):
    browser = opened(link)
    for _ in range(renew_links.RENEW_LINK_MAX_PAYMENTS):
        assert (
            browser.post(reverse("billing:renew"), {"plan": week_plan.code, "start_now": "on"}).status_code
            == 302
        )

    refused = browser.post(reverse("billing:renew"), {"plan": week_plan.code, "start_now": "on"})

    assert refused.status_code == 410
    assert "already been used for as many payments" in refused.content.decode()
    assert Order.objects.count() == renew_links.RENEW_LINK_MAX_PAYMENTS


def test_an_abandoned_checkout_gives_its_payment_back(card, link, week_plan, demo_mode):
    from billing.services import order_cancel

    browser = opened(link)
    for _ in range(renew_links.RENEW_LINK_MAX_PAYMENTS):
        browser.post(reverse("billing:renew"), {"plan": week_plan.code, "start_now": "on"})
    order_cancel(order=Order.objects.first(), now=timezone.now())

    assert (
        browser.post(reverse("billing:renew"), {"plan": week_plan.code, "start_now": "on"}).status_code == 302
    )


def test_a_link_expires_after_72_hours(card, link):
    with time_machine.travel(timezone.now() + timedelta(hours=72, seconds=1)):
        response = Client().get(reverse("billing:renew_link_open", args=[link]))

    assert response.status_code == 410
    assert "has expired" in response.content.decode()


def test_the_scope_lapses_after_30_idle_minutes_even_with_the_cookie_kept(card, link):
    browser = opened(link)
    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        response = browser.get(reverse("billing:renew"))

    assert response.status_code == 403
    assert "3.2 GB" not in response.content.decode()


def test_a_link_dies_when_the_card_changes_owner(card, link, outsider):
    browser = opened(link)
    card.owner = outsider
    card.save()

    assert browser.get(reverse("billing:renew")).status_code == 410
    assert Client().get(reverse("billing:renew_link_open", args=[link])).status_code == 410


def test_a_link_dies_when_the_owner_logs_out_everywhere(owner, card, link):
    browser = opened(link)
    owner_client = Client()
    owner_client.force_login(owner)

    response = owner_client.post(reverse("accounts:logout_everywhere"))

    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache", "storage"'
    assert owner_client.get(reverse("usage:dashboard")).status_code == 302  # this session ended too
    assert browser.get(reverse("billing:renew")).status_code == 410
    # Links sent after that work again.
    _link, fresh = renew_links.renew_link_create(card=card, purpose="card_expiry_24h", now=timezone.now())
    opened(fresh)


def test_logging_out_everywhere_ends_the_other_sessions(owner):
    phone, laptop = Client(), Client()
    phone.force_login(owner)
    laptop.force_login(owner)

    laptop.post(reverse("accounts:logout_everywhere"))

    assert phone.get(reverse("usage:dashboard")).status_code == 302


def test_a_revoked_link_is_refused(card, link):
    renew_links.renew_links_revoke_for_card(card=card, reason="Phone lost", now=timezone.now())

    assert Client().get(reverse("billing:renew_link_open", args=[link])).status_code == 410


@pytest.mark.parametrize(
    "tampered",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),
        lambda token: token[:21],
        lambda token: token + "A",
        lambda token: token.upper(),
        lambda token: "%2e%2e%2f" + token,
    ],
)
def test_a_tampered_link_is_refused_and_shows_nothing(card, link, tampered):
    response = Client().get(reverse("billing:renew_link_open", args=[link]).replace(link, tampered(link)))

    assert response.status_code == 404
    assert (
        renew_links.SCOPE_COOKIE not in response.cookies
        or not response.cookies[renew_links.SCOPE_COOKIE].value
    )
    assert "3.2 GB" not in response.content.decode()


def test_a_forged_scope_cookie_is_refused(card, link):
    browser = Client()
    browser.cookies[renew_links.SCOPE_COOKIE] = link  # the raw token, not signed by the server

    assert browser.get(reverse("billing:renew")).status_code == 403


def test_an_outsider_with_another_cards_link_sees_that_card_only_and_none_of_its_owners_orders(
    owner, outsider, card, link, week_plan, demo_mode
):
    from billing.services import order_create

    owners_own = order_create(user=owner, plan=week_plan, card=card, now=timezone.now())
    OwnedCardFactory(owner=outsider, data_remaining=7 * GB)
    browser = Client()
    browser.force_login(outsider)
    opened(link, browser)

    page = browser.get(reverse("billing:renew")).content.decode()
    assert "3.2 GB" in page and "7.0 GB" not in page
    for url in (
        reverse("billing:renew_order_status", args=[owners_own.number]),
        reverse("billing:renew_order_status_json", args=[owners_own.number]),
        reverse("billing:renew_demo_checkout", args=[owners_own.number]),
        reverse("billing:order_status", args=[owners_own.number]),
        reverse("usage:card_detail", args=[card.pk]),
    ):
        assert browser.get(url).status_code == 404, url
    # The outsider's own account is untouched and still theirs.
    assert "7.0 GB" in browser.get(reverse("usage:dashboard")).content.decode()


def test_opening_wrong_links_is_rate_limited_but_the_owners_own_link_keeps_working(card, link, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "renew_link_open": "3/h/ip"}
    attacker = Client()
    for attempt in range(3):
        assert attacker.get(reverse("billing:renew_link_open", args=[f"{attempt:022d}"])).status_code == 404

    assert attacker.get(reverse("billing:renew_link_open", args=["x" * 22])).status_code == 429


def test_the_token_is_not_logged_in_full(card, link, caplog):
    from portal.lib.redact import RedactingFormatter, redact

    caplog.set_level(logging.INFO)
    Client().get(reverse("billing:renew_link_open", args=[link[:-1] + "!"]))
    opened(link)

    formatter = RedactingFormatter("%(message)s")
    assert all(link not in formatter.format(record) for record in caplog.records)
    assert redact(f"GET /r/{link} HTTP/1.1") == f"GET /r/{link[:4]}… HTTP/1.1"


def test_forgetting_the_link_on_a_borrowed_phone(card, link):
    browser = opened(link)

    response = browser.post(reverse("billing:renew_forget"))

    assert response.status_code == 200
    assert browser.get(reverse("billing:renew")).status_code == 403
