"""The staff admin stays usable at a carrier's volumes (bench/admin_scale.py times it): every list
page costs the same number of queries whatever it shows, each search key finds its one customer,
order or card through its index, and a customer's page shows their latest orders and cards with a
link to all of them. Run on SQLite and, with DATABASE_URL on PostgreSQL, on PostgreSQL; the
PostgreSQL-only parts (trigram indexes, estimated counts) are marked integration."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditEntry
from billing.models import Refund, WalletEntry, WebhookEvent
from notices.models import Notification
from tests.support.factories import CardFactory, OrderFactory, RefundFactory, UserFactory, wallet_with
from usage.models import LedgerEntry, ProvisioningEvent, UsageRecord

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)

CHANGELISTS = [
    "admin:billing_order_changelist",
    "admin:accounts_user_changelist",
    "admin:usage_card_changelist",
    "admin:usage_usagerecord_changelist",
    "admin:usage_ledgerentry_changelist",
    "admin:usage_provisioningevent_changelist",
    "admin:notices_notification_changelist",
    "admin:audit_auditentry_changelist",
    "admin:billing_refund_changelist",
    "admin:billing_walletentry_changelist",
    "admin:billing_webhookevent_changelist",
]


def customer_with_history(number: int):
    """A customer with one card, one fulfilled order and what follows from it in every big table."""
    customer = UserFactory(email=f"traveller{number}@example.com", phone=f"+3776{number:08d}")
    order = OrderFactory(customer=customer, created_at=T0 + timedelta(minutes=number))
    entry = LedgerEntry.objects.create(
        card=order.card,
        kind=LedgerEntry.Kind.TOPUP,
        data_delta=order.plan_data_bytes,
        data_after=order.plan_data_bytes,
        expires_after=T0 + timedelta(days=7),
        order_id=order.pk,
    )
    UsageRecord.objects.create(
        record_id=f"rec-{number}",
        card=order.card,
        ledger_entry=entry,
        start=T0,
        end=T0 + timedelta(hours=1),
        bytes=1_000_000,
    )
    ProvisioningEvent.objects.create(ledger_entry=entry, card=order.card, payload={})
    Notification.objects.create(
        user=customer,
        kind="renewal_confirmation",
        channel=Notification.Channel.EMAIL,
        dedupe_key=f"confirmation:order:{order.pk}:email",
        recipient=customer.email,
        language="en",
    )
    AuditEntry.objects.create(action="card_adjust", object_type="usage.card", object_id=str(order.card_id))
    RefundFactory(order=order, destination=Refund.Destination.WALLET, stripe_refund_id=f"re_{number}")
    WalletEntry.objects.create(
        wallet=wallet_with(customer, 500),
        kind="refund",
        amount_cents=500,
        balance_after_cents=500,
        order=order,
    )
    WebhookEvent.objects.create(
        stripe_event_id=f"evt_{number}", type="checkout.session.completed", payload={}, order=order
    )
    return customer


def queries_for(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("url_name", CHANGELISTS)
def test_a_list_page_makes_as_many_queries_for_30_rows_as_for_one(agent_client, url_name):
    customer_with_history(1)
    url = reverse(url_name)
    queries_for(agent_client, url)  # warm caches (content types, permissions)
    with_one = queries_for(agent_client, url)
    for number in range(2, 31):
        customer_with_history(number)
    assert queries_for(agent_client, url) == with_one


def test_a_customer_page_makes_as_many_queries_for_30_orders_as_for_one(agent_client):
    customer = customer_with_history(1)
    url = reverse("admin:accounts_user_change", args=[customer.pk])
    queries_for(agent_client, url)
    with_one = queries_for(agent_client, url)
    card = customer.cards.get()
    for day in range(29):
        OrderFactory(customer=customer, card=card, created_at=T0 + timedelta(days=day + 1))
        CardFactory(owner=customer)
    assert queries_for(agent_client, url) == with_one


def test_a_customer_page_shows_the_latest_20_orders_and_links_to_all_of_them(agent_client):
    customer = UserFactory(email="frequent@example.com")
    card = CardFactory(owner=customer)
    orders = [
        OrderFactory(customer=customer, card=card, created_at=T0 + timedelta(days=day)) for day in range(25)
    ]
    response = agent_client.get(reverse("admin:accounts_user_change", args=[customer.pk]))
    page = response.content.decode()
    assert orders[-1].number in page  # the latest
    assert orders[5].number in page  # the 20th latest
    assert orders[4].number not in page  # older ones are on the orders list
    all_orders = reverse("admin:billing_order_changelist") + f"?customer__id__exact={customer.pk}"
    assert f'href="{all_orders}"' in page
    assert "See all 25 orders" in page
    listed = agent_client.get(all_orders)
    assert listed.status_code == 200
    assert {order.pk for order in listed.context["cl"].result_list} >= {orders[0].pk, orders[4].pk}
    assert listed.context["cl"].result_count == 25


def test_a_customer_with_few_orders_sees_no_link_to_more(agent_client):
    customer = customer_with_history(1)
    page = agent_client.get(reverse("admin:accounts_user_change", args=[customer.pk])).content.decode()
    assert "See all" not in page


# --- Each search key finds the right customer, order and card, and a wrong key finds nothing ---


@pytest.fixture
def carla_order(customer):
    card = CardFactory(owner=customer, iccid="8937700010000000007")
    return OrderFactory(
        customer=customer,
        card=card,
        number="MC-2026-000123",
        stripe_payment_intent_id="pi_3CarlaIntent",
        stripe_checkout_session_id="cs_test_carla",
        customer_phone=customer.phone,
    )


@pytest.fixture
def zed_order(db):
    zed = UserFactory(email="zed@example.org", phone="+33612345678", name="Zed Martin")
    return OrderFactory(customer=zed, card=CardFactory(owner=zed, iccid="8937700010000000015"))


CARLA_KEYS = [
    "+377 6 12 34 56 7",  # phone typed with spaces
    "+37761234567",  # E.164
    "06 12 34 56 7",  # national format, the portal's default region (Monaco)
    "CARLA@Example.COM",  # email in another case
    "8937 7000 1000 0000 007",  # ICCID with spaces
    "MC-2026-000123",
    "mc-2026-000123",
    "pi_3CarlaIntent",
    "cs_test_carla",
    "Carla Rossi",  # name
    "rossi",
]
WRONG_KEYS = [
    "+377 6 99 99 99 99",
    "nobody@nowhere.test",
    "8937 7000 9999 9999 999",
    "MC-2026-999999",
    "pi_nothing",
    "cs_nothing",
    "Nobody Atall",
]


def found(client, url_name, term) -> list:
    response = client.get(reverse(url_name), {"q": term})
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


@pytest.mark.parametrize("term", CARLA_KEYS)
def test_each_key_finds_the_customer_their_order_and_their_card(agent_client, carla_order, zed_order, term):
    assert found(agent_client, "admin:accounts_user_changelist", term) == [carla_order.customer]
    assert found(agent_client, "admin:billing_order_changelist", term) == [carla_order]
    assert found(agent_client, "admin:usage_card_changelist", term) == [carla_order.card]


@pytest.mark.parametrize("term", WRONG_KEYS)
def test_a_wrong_key_finds_nothing(agent_client, carla_order, zed_order, term):
    assert found(agent_client, "admin:accounts_user_changelist", term) == []
    assert found(agent_client, "admin:billing_order_changelist", term) == []
    assert found(agent_client, "admin:usage_card_changelist", term) == []


def test_an_order_is_found_by_the_phone_it_was_bought_with_after_the_customer_changed_it(
    agent_client, carla_order
):
    customer = carla_order.customer
    customer.phone = "+37761111111"
    customer.save()
    assert found(agent_client, "admin:billing_order_changelist", "+377 6 12 34 56 7") == [carla_order]
    assert found(agent_client, "admin:billing_order_changelist", "+377 6 11 11 11 1") == [carla_order]


def test_a_customer_with_many_orders_is_listed_once(agent_client, carla_order):
    OrderFactory(customer=carla_order.customer, card=carla_order.card, stripe_customer_id="cus_carla")
    OrderFactory(customer=carla_order.customer, card=carla_order.card, stripe_customer_id="cus_carla")
    assert found(agent_client, "admin:accounts_user_changelist", "cus_carla") == [carla_order.customer]
    assert found(agent_client, "admin:usage_card_changelist", "cus_carla") == [carla_order.card]
    assert len(found(agent_client, "admin:billing_order_changelist", "cus_carla")) == 2


def test_usage_records_are_found_by_record_id_or_iccid_and_nothing_else(agent_client, db):
    customer = customer_with_history(1)
    card = customer.cards.get()
    record = UsageRecord.objects.get(card=card)
    spaced = " ".join(card.iccid[i : i + 4] for i in range(0, len(card.iccid), 4))
    assert found(agent_client, "admin:usage_usagerecord_changelist", "rec-1") == [record]
    assert found(agent_client, "admin:usage_usagerecord_changelist", spaced) == [record]
    assert found(agent_client, "admin:usage_usagerecord_changelist", "rec") == []


def test_a_notice_is_found_by_its_recipient_in_any_format(agent_client, db):
    customer = customer_with_history(1)
    notice = Notification.objects.get(user=customer)
    assert found(agent_client, "admin:notices_notification_changelist", "TRAVELLER1@example.com") == [notice]
    assert found(agent_client, "admin:notices_notification_changelist", "nobody@example.com") == []


def test_the_orders_list_says_what_each_order_granted_without_a_query_per_row(agent_client, db):
    customer = customer_with_history(1)
    page = agent_client.get(reverse("admin:billing_order_changelist")).content.decode()
    assert "valid until 27 Nov 2026" in page
    assert customer.email in page


# --- PostgreSQL: the indexes the searches rely on, and counts that never scan a big table ---


def plan_with_indexes_only(queryset) -> str:
    """EXPLAIN with sequential scans priced out: a Seq Scan left in the plan means no index serves it."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.integration
@pytest.mark.parametrize(
    ("model_path", "lookup", "value"),
    [
        ("accounts.User", "phone", "+37761234567"),
        ("accounts.User", "email__lower", "carla@example.com"),
        ("accounts.User", "name__icontains", "rossi"),
        ("accounts.User", "email__icontains", "carla@exa"),
        ("billing.Order", "number", "MC-2026-000123"),
        ("billing.Order", "customer_phone", "+37761234567"),
        ("billing.Order", "customer_email__lower", "carla@example.com"),
        ("billing.Order", "stripe_payment_intent_id", "pi_3CarlaIntent"),
        ("billing.Order", "stripe_checkout_session_id", "cs_test_carla"),
        ("usage.Card", "iccid", "8937700010000000007"),
        ("usage.Card", "label__icontains", "dad"),
        ("notices.Notification", "recipient", "carla@example.com"),
    ],
)
def test_each_search_key_is_served_by_an_index(carla_order, model_path, lookup, value):
    from django.apps import apps

    model = apps.get_model(model_path)
    plan = plan_with_indexes_only(model.objects.filter(**{lookup: value}).order_by())
    assert "Seq Scan" not in plan, plan


@pytest.mark.integration
@pytest.mark.parametrize(
    ("model_path", "ordering"),
    [
        ("billing.Order", ("-created_at", "-id")),
        ("accounts.User", ("-date_joined", "-id")),
        ("usage.Card", ("created_at", "id")),
        ("usage.UsageRecord", ("-id",)),
        ("usage.LedgerEntry", ("-id",)),
        ("notices.Notification", ("-created_at", "-id")),
    ],
)
def test_each_list_order_is_served_by_an_index(db, model_path, ordering):
    from django.apps import apps

    model = apps.get_model(model_path)
    plan = plan_with_indexes_only(model.objects.order_by(*ordering)[:100])
    assert "Seq Scan" not in plan, plan


@pytest.mark.integration
def test_a_big_unfiltered_list_shows_an_estimated_count_without_counting(agent_client, monkeypatch):
    import audit.admin_mixins

    monkeypatch.setattr(audit.admin_mixins, "EXACT_COUNT_LIMIT", 5)
    for number in range(1, 12):
        customer_with_history(number)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE billing_order")
    with CaptureQueriesContext(connection) as queries:
        response = agent_client.get(reverse("admin:billing_order_changelist"))
    assert not [q for q in queries if "COUNT(" in q["sql"].upper() and "billing_order" in q["sql"]]
    assert "about 11 orders" in " ".join(response.content.decode().split())
    # Filtered below the limit: counted exactly.
    response = agent_client.get(reverse("admin:billing_order_changelist"), {"q": "traveller3@example.com"})
    assert response.context["cl"].result_count == 1
    assert not response.context["cl"].paginator.count_is_estimate


def test_the_notices_list_offers_a_filter_by_each_kind_sent(agent_client, db):
    customer = customer_with_history(1)
    Notification.objects.create(
        user=customer,
        kind="expiry_forfeit",
        channel="sms",
        dedupe_key="x:1",
        recipient="+37761234567",
        language="en",
    )
    with CaptureQueriesContext(connection) as queries:
        response = agent_client.get(reverse("admin:notices_notification_changelist"))
    page = response.content.decode()
    assert "?kind=expiry_forfeit" in page
    assert "?kind=renewal_confirmation" in page
    if connection.vendor == "postgresql":  # read through the index, not a DISTINCT over every notice
        assert not [q for q in queries if "SELECT DISTINCT" in q["sql"]]
