"""The traveller's journey in demo mode (no Stripe keys): review → pay → renewed → receipt."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from billing.models import Order, WebhookEvent
from tests.billing.factories import GB, PlanFactory, PromotionFactory
from usage.models import LedgerEntry

NOW = datetime(2026, 11, 26, 13, 5, tzinfo=UTC)  # 14:05 in Monaco


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def active_card(card):
    card.expires_at = NOW + timedelta(days=5)
    card.data_remaining = 1_200_000_000
    card.save()
    return card


def checkout_url(plan, card=None):
    return reverse("billing:checkout") + f"?plan={plan.code}&card={card.pk if card else 'new'}"


def test_the_review_page_says_exactly_what_will_happen(owner_client, week_plan, active_card, demo_mode):
    response = owner_client.get(checkout_url(week_plan, active_card))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Week 5 GB" in page
    assert "€14.90" in page
    assert "7 days" in page
    assert "Prices include VAT at 20 %." in page
    # 5 days left + 7 days, from 14:05 Monaco time; 1.2 GB left + 5 GB.
    assert "Valid until 8 Dec 2026, 14:05 (Monaco time, CET), 6.2 GB available." in " ".join(page.split())


def test_the_review_page_for_an_expired_card_starts_the_period_now(owner_client, week_plan, card, demo_mode):
    card.expires_at = NOW - timedelta(days=1)
    card.save()

    page = " ".join(owner_client.get(checkout_url(week_plan, card)).content.decode().split())

    assert "Valid until 3 Dec 2026, 14:05 (Monaco time, CET), 5.0 GB available." in page


def test_paying_in_demo_mode_renews_the_card_and_confirms_by_email(
    owner_client, owner, week_plan, active_card, demo_mode
):
    response = owner_client.post(
        reverse("billing:checkout"), {"start_now": "on", "plan": "week", "card": active_card.pk}
    )

    order = Order.objects.get()
    assert order.status == Order.Status.PENDING
    assert order.number == f"MC-2026-{order.pk:06d}"
    assert response.url == reverse("billing:demo_checkout", args=[order.number])
    demo_page = owner_client.get(response.url).content.decode()
    assert "DEMO" in demo_page

    response = owner_client.post(response.url, {"outcome": "pay"})

    assert response.url == reverse("billing:order_status", args=[order.number])
    order.refresh_from_db()
    active_card.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert order.payment_method_type == "demo"
    assert active_card.expires_at == NOW + timedelta(days=12)
    assert active_card.data_remaining == 6_200_000_000
    assert WebhookEvent.objects.get().type == "checkout.session.completed"
    status_page = " ".join(owner_client.get(response.url).content.decode().split())
    assert "Done — valid until 8 Dec 2026, 14:05 (Monaco time, CET), 6.2 GB available." in status_page
    [email] = mail.outbox
    assert email.to == ["alice@example.com"]
    assert order.number in email.subject or order.number in email.body
    assert "8 Dec 2026, 14:05 (Monaco time, CET)" in email.body
    assert reverse("billing:receipt", args=[order.number]) in email.body


def test_the_status_json_reports_the_renewal(owner_client, week_plan, active_card, demo_mode):
    owner_client.post(
        reverse("billing:checkout"), {"start_now": "on", "plan": "week", "card": active_card.pk}
    )
    order = Order.objects.get()

    before = owner_client.get(reverse("billing:order_status_json", args=[order.number])).json()
    owner_client.post(reverse("billing:demo_checkout", args=[order.number]), {"outcome": "pay"})
    after = owner_client.get(reverse("billing:order_status_json", args=[order.number])).json()

    assert before["state"] == "waiting"
    assert before["finished"] is False
    assert after["state"] == "done"
    assert after["finished"] is True
    assert after["expires_at"] == (NOW + timedelta(days=12)).isoformat()
    assert "6.2 GB available" in after["message"]


def test_declining_in_demo_mode_fails_the_order_and_charges_nothing(
    owner_client, week_plan, active_card, demo_mode
):
    owner_client.post(
        reverse("billing:checkout"), {"start_now": "on", "plan": "week", "card": active_card.pk}
    )
    order = Order.objects.get()

    owner_client.post(reverse("billing:demo_checkout", args=[order.number]), {"outcome": "decline"})

    order.refresh_from_db()
    active_card.refresh_from_db()
    assert order.status == Order.Status.FAILED
    assert active_card.expires_at == NOW + timedelta(days=5)
    assert not LedgerEntry.objects.filter(order_id=order.pk).exists()
    page = owner_client.get(reverse("billing:order_status", args=[order.number])).content.decode()
    assert "Nothing was charged" in page


def test_buying_a_plan_without_a_card_allocates_a_new_esim(owner_client, owner, week_plan, demo_mode):
    from tests.usage.card_factories import InventoryCardFactory

    profile = InventoryCardFactory()
    owner_client.post(reverse("billing:checkout"), {"start_now": "on", "plan": "week", "card": "new"})
    order = Order.objects.get()

    owner_client.post(reverse("billing:demo_checkout", args=[order.number]), {"outcome": "pay"})

    order.refresh_from_db()
    profile.refresh_from_db()
    assert order.card == profile
    assert profile.owner == owner
    assert profile.expires_at == NOW + timedelta(days=7)
    assert profile.data_remaining == 5 * GB


@pytest.fixture
def workers_busy(monkeypatch):
    """No worker has picked anything up yet: stored events and renewals wait in the queue."""
    monkeypatch.setattr("billing.webhooks._enqueue", lambda webhook_event_id: None)
    monkeypatch.setattr("billing.services._enqueue_fulfilment", lambda order_id: None)


def test_the_order_page_right_after_paying_says_the_payment_is_received(
    owner_client, week_plan, active_card, demo_mode, workers_busy
):
    owner_client.post(
        reverse("billing:checkout"), {"start_now": "on", "plan": "week", "card": active_card.pk}
    )
    order = Order.objects.get()

    response = owner_client.post(reverse("billing:demo_checkout", args=[order.number]), {"outcome": "pay"})
    page = " ".join(owner_client.get(response.url).content.decode().split())
    polled = owner_client.get(reverse("billing:order_status_json", args=[order.number])).json()

    assert "Payment received. Renewing your card…" in page
    assert "Waiting for the payment" not in page
    assert "data-order-pay hidden" in page  # no "Continue to payment"
    assert (polled["state"], polled["pay_url"]) == ("renewing", "")


def test_a_new_esim_order_offers_the_install_button_as_soon_as_it_is_renewed(
    owner_client, owner, week_plan, demo_mode
):
    from tests.usage.card_factories import InventoryCardFactory

    profile = InventoryCardFactory()
    owner_client.post(reverse("billing:checkout"), {"start_now": "on", "plan": "week", "card": "new"})
    order = Order.objects.get()
    before = owner_client.get(reverse("billing:order_status", args=[order.number])).content.decode()
    polled_before = owner_client.get(reverse("billing:order_status_json", args=[order.number])).json()

    owner_client.post(reverse("billing:demo_checkout", args=[order.number]), {"outcome": "pay"})
    polled_after = owner_client.get(reverse("billing:order_status_json", args=[order.number])).json()

    esim_url = reverse("usage:card_esim", args=[profile.pk])
    assert "data-order-esim hidden" in before  # on the page already, for the live update to show
    assert polled_before["esim_url"] == ""
    assert polled_after["state"] == "done"
    assert polled_after["esim_url"] == esim_url


def test_an_inactive_plan_is_refused_with_a_message_and_no_order(owner_client, active_card, demo_mode):
    PlanFactory(code="old", is_active=False)

    response = owner_client.post(
        reverse("billing:checkout"), {"start_now": "on", "plan": "old", "card": active_card.pk}, follow=True
    )

    assert "This plan is not on sale" in response.content.decode()
    assert not Order.objects.exists()


def test_an_unknown_plan_is_refused_with_a_message_and_no_order(owner_client, active_card, demo_mode):
    response = owner_client.post(
        reverse("billing:checkout"), {"start_now": "on", "plan": "nope", "card": active_card.pk}, follow=True
    )

    assert "This plan is not on sale" in response.content.decode()
    assert not Order.objects.exists()


def test_someone_elses_card_is_not_found_and_no_order(outsider_client, week_plan, active_card, demo_mode):
    assert outsider_client.get(checkout_url(week_plan, active_card)).status_code == 404
    response = outsider_client.post(
        reverse("billing:checkout"), {"start_now": "on", "plan": "week", "card": active_card.pk}
    )

    assert response.status_code == 404
    assert not Order.objects.exists()


def test_a_bad_promo_code_shows_why_and_creates_no_order(owner_client, week_plan, active_card, demo_mode):
    PromotionFactory(code="SUMMER", valid_from=NOW - timedelta(days=90), valid_until=NOW - timedelta(days=1))

    response = owner_client.post(
        reverse("billing:checkout"),
        {"start_now": "on", "plan": "week", "card": active_card.pk, "promo_code": "summer"},
    )

    assert response.status_code == 400
    assert "This promo code has expired." in response.content.decode()
    assert not Order.objects.exists()


def test_a_promo_code_lowers_the_price_and_adds_its_bonus(owner_client, week_plan, active_card, demo_mode):
    PromotionFactory(code="RIVIERA", discount_percent=20, bonus_bytes=GB)

    page = owner_client.get(checkout_url(week_plan, active_card) + "&promo_code=riviera").content.decode()
    owner_client.post(
        reverse("billing:checkout"),
        {"start_now": "on", "plan": "week", "card": active_card.pk, "promo_code": "riviera"},
    )

    assert "€11.92" in page
    order = Order.objects.get()
    assert (order.discount_cents, order.amount_charged_cents, order.bonus_bytes) == (298, 1192, GB)
    assert order.promotion_code == "RIVIERA"
    owner_client.post(reverse("billing:demo_checkout", args=[order.number]), {"outcome": "pay"})
    active_card.refresh_from_db()
    assert active_card.data_remaining == 1_200_000_000 + 6 * GB


def test_the_price_never_comes_from_the_form(owner_client, week_plan, active_card, demo_mode):
    owner_client.post(
        reverse("billing:checkout"),
        {
            "start_now": "on",
            "plan": "week",
            "card": active_card.pk,
            "amount": "1",
            "price_cents": "1",
            "amount_charged_cents": "1",
        },
    )

    assert Order.objects.get().amount_charged_cents == 1490


def test_the_order_keeps_the_plan_as_sold(owner_client, week_plan, active_card, demo_mode):
    owner_client.post(
        reverse("billing:checkout"), {"start_now": "on", "plan": "week", "card": active_card.pk}
    )
    week_plan.price_cents = 9990
    week_plan.data_bytes = GB
    week_plan.save()

    order = Order.objects.get()
    assert (order.list_price_cents, order.plan_data_bytes, order.plan_duration_seconds) == (
        1490,
        5 * GB,
        7 * 86400,
    )


def test_the_order_history_and_receipt_show_the_paid_order(owner_client, week_plan, active_card, demo_mode):
    owner_client.post(
        reverse("billing:checkout"), {"start_now": "on", "plan": "week", "card": active_card.pk}
    )
    order = Order.objects.get()
    owner_client.post(reverse("billing:demo_checkout", args=[order.number]), {"outcome": "pay"})

    history = " ".join(owner_client.get(reverse("billing:orders")).content.decode().split())
    receipt = " ".join(
        owner_client.get(reverse("billing:receipt", args=[order.number])).content.decode().split()
    )

    assert order.number in history
    assert "Renewed" in history
    assert "8 Dec 2026, 14:05 (Monaco time, CET)" in history
    for text in (
        order.number,
        "Monaco Data",
        "Week 5 GB",
        "€14.90",
        "of which VAT (20 %)",
        "€2.48",
        "Demo payment",
    ):
        assert text in receipt, text


def test_cancelling_on_the_cancel_page_closes_the_order(owner_client, week_plan, active_card, demo_mode):
    owner_client.post(
        reverse("billing:checkout"), {"start_now": "on", "plan": "week", "card": active_card.pk}
    )
    order = Order.objects.get()

    page = owner_client.get(reverse("billing:order_cancel", args=[order.number])).content.decode()
    owner_client.post(reverse("billing:order_cancel", args=[order.number]))

    assert "Nothing was charged" in page
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED


def test_credit_is_offered_and_applied_on_arrival(owner_client, owner, week_plan, active_card, demo_mode):
    from billing.models import WalletEntry
    from billing.wallet import wallet_move

    wallet_move(user=owner, amount_cents=500, kind=WalletEntry.Kind.GOODWILL, now=NOW)

    arrival = owner_client.get(checkout_url(week_plan, active_card)).content.decode()
    unticked = owner_client.get(checkout_url(week_plan, active_card) + "&promo_code=").content.decode()

    assert "You have €5.00 of account credit." in arrival
    assert "€9.90" in arrival  # €14.90 less €5.00
    assert "Pay €14.90" in unticked


def test_update_the_price_posts_the_promo_code_and_places_no_order(
    owner_client, week_plan, active_card, demo_mode
):
    PromotionFactory(code="RIVIERA", discount_percent=20)
    review = owner_client.get(checkout_url(week_plan, active_card)).content.decode()
    button = re.search(r"<button[^>]*>\s*Update the price", review).group(0)
    assert "formmethod" not in button  # the form's own method: POST, nothing in the address
    assert 'name="action" value="update_price"' in button

    response = owner_client.post(
        reverse("billing:checkout"),
        {"plan": "week", "card": active_card.pk, "promo_code": "riviera", "action": "update_price"},
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "€11.92" in page
    assert "Tick the box" not in page
    assert not Order.objects.exists()
