from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.urls import reverse

from billing.models import Order, Wallet, WalletEntry
from notices.models import Notification
from support.models import Ticket
from tests.support.factories import CardFactory, OrderFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def test_the_customer_page_shows_cards_orders_wallet_notices_and_login_addresses(agent_client, customer):
    card = CardFactory(
        owner=customer, expires_at=datetime(2026, 12, 3, 13, 5, tzinfo=UTC), data_remaining=6_200_000_000
    )
    order = OrderFactory(customer=customer, card=card)
    wallet = Wallet.objects.create(user=customer, balance_cents=1234)
    WalletEntry.objects.create(
        wallet=wallet, kind="goodwill", amount_cents=1234, balance_after_cents=1234, reason="Outage"
    )
    Notification.objects.create(
        user=customer,
        kind="renewal_confirmation",
        channel="sms",
        dedupe_key="n1",
        recipient="+37761234567",
        language="en",
    )
    EmailAddress.objects.create(user=customer, email="carla.work@example.com", verified=True, primary=False)
    Ticket.objects.create(user=customer, topic="payment")

    page = agent_client.get(reverse("admin:accounts_user_change", args=[customer.pk])).content.decode()
    assert card.iccid in page
    assert "3 Dec 2026, 14:05 (Monaco time, CET)" in page
    assert "6.2 GB" in page
    assert order.number in page
    assert "€12.34" in page and "Outage" in page
    assert "renewal_confirmation" in page and "+37761234567" in page
    assert "carla.work@example.com" in page
    assert "A payment or refund" in page
    assert reverse("admin:accounts_user_staff_action", args=[customer.pk, "goodwill"]) in page


@pytest.mark.parametrize(
    ("attention", "expected"),
    [
        ("paid_not_renewed", {"paid_recent", "paid_stuck"}),
        ("stuck", {"paid_stuck", "flagged"}),
        ("disputed", {"disputed"}),
    ],
)
def test_order_filters_find_what_needs_attention(agent_client, customer, attention, expected):
    orders = {
        "fine": OrderFactory(customer=customer),
        "paid_recent": OrderFactory(
            customer=customer, status="paid", fulfilled_at=None, created_at=NOW - timedelta(minutes=5)
        ),
        "paid_stuck": OrderFactory(
            customer=customer, status="paid", fulfilled_at=None, created_at=NOW - timedelta(hours=30)
        ),
        "flagged": OrderFactory(customer=customer, status="pending", paid_at=None, flagged_at=NOW),
        "disputed": OrderFactory(customer=customer, status="disputed"),
    }
    response = agent_client.get(reverse("admin:billing_order_changelist"), {"attention": attention})
    found = {name for name, order in orders.items() if order in response.context["cl"].result_list}
    assert found == expected


def test_orders_filter_by_status_and_payment_method(agent_client, customer):
    alipay = OrderFactory(customer=customer, payment_method_type="alipay")
    OrderFactory(customer=customer, payment_method_type="card")
    refunded = OrderFactory(customer=customer, status=Order.Status.REFUNDED, refunded_amount_cents=1990)
    changelist = reverse("admin:billing_order_changelist")
    assert list(agent_client.get(changelist, {"method": "alipay"}).context["cl"].result_list) == [alipay]
    assert list(agent_client.get(changelist, {"status__exact": "refunded"}).context["cl"].result_list) == [
        refunded
    ]
    by_date = agent_client.get(changelist, {"created_at__gte": "2026-11-20", "created_at__lt": "2026-11-21"})
    assert by_date.status_code == 200


def test_stripe_ids_link_to_the_stripe_dashboard(agent_client, customer):
    order = OrderFactory(customer=customer, stripe_payment_intent_id="pi_3Abc", stripe_customer_id="cus_9")
    page = agent_client.get(reverse("admin:billing_order_change", args=[order.pk])).content.decode()
    assert 'href="https://dashboard.stripe.com/test/payments/pi_3Abc"' in page
    assert 'href="https://dashboard.stripe.com/test/customers/cus_9"' in page


def test_an_order_page_shows_its_renewal_state(agent_client, customer):
    order = OrderFactory(
        customer=customer, status="paid", fulfilled_at=None, created_at=NOW - timedelta(hours=30)
    )
    page = agent_client.get(reverse("admin:billing_order_change", args=[order.pk])).content.decode()
    assert "Paid but NOT renewed for over 24 hours" in page
    assert reverse("admin:billing_order_staff_action", args=[order.pk, "retry-fulfilment"]) in page
    assert reverse("admin:billing_order_staff_action", args=[order.pk, "refund"]) in page


def test_a_usage_ledger_entry_links_to_the_records_it_applied(agent_client, customer):
    from usage.feeds import usage_records_apply
    from usage.models import LedgerEntry

    card = CardFactory(owner=customer, expires_at=NOW + timedelta(days=3), data_remaining=2_000_000_000)
    other = CardFactory(owner=customer, expires_at=NOW + timedelta(days=3), data_remaining=2_000_000_000)

    def record(record_id, on):
        start = NOW - timedelta(hours=2)
        return {
            "record_id": record_id,
            "iccid": on.iccid,
            "start": start.isoformat(),
            "end": (start + timedelta(minutes=5)).isoformat(),
            "bytes": 1_000_000,
        }

    usage_records_apply(
        records=[record("cdr-a", card), record("cdr-b", card), record("cdr-x", other)], now=NOW
    )
    entry = LedgerEntry.objects.get(card=card, kind="usage")

    listing = agent_client.get(reverse("admin:usage_ledgerentry_changelist") + f"?card__id__exact={card.pk}")
    link = f"?card__id__exact={card.pk}&amp;ledger_entry__id__exact={entry.pk}"
    assert link in listing.content.decode()
    records = agent_client.get(reverse("admin:usage_usagerecord_changelist") + link.replace("&amp;", "&"))
    body = records.content.decode()
    assert records.status_code == 200
    assert "cdr-a" in body and "cdr-b" in body
    assert "cdr-x" not in body
