"""The database connection drops in the middle of a checkout: a clean error page, nothing half-written."""

import psycopg
import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from billing.models import Order, WalletEntry
from billing.selectors import wallet_balance_cents
from billing.wallet import wallet_credit_goodwill
from tests.faults.conftest import customers_with_cards
from usage.ledger import ledgers_check
from usage.models import LedgerEntry

pytestmark = pytest.mark.integration

CREDIT = 1_000_000


def _terminate_at(query_number: int, dsn: str):
    """An execute wrapper that kills this connection's backend just before its n-th query."""
    seen = {"count": 0, "fired": False}

    def wrapper(execute, sql, params, many, context):
        seen["count"] += 1
        if seen["count"] == query_number:
            seen["fired"] = True
            with psycopg.connect(dsn, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", [connection.connection.info.backend_pid])
        return execute(sql, params, many, context)

    return wrapper, seen


def test_a_connection_dropped_at_any_query_of_a_paid_checkout_leaves_no_partial_order(
    transactional_db, postgres, plan, client
):
    from tests.fixtures.services import test_database_url

    user = customers_with_cards(1, sms=False)[0].owner
    card = user.cards.get()
    wallet_credit_goodwill(
        user=user, amount_cents=CREDIT, staff_user=None, reason="fault test", now=timezone.now()
    )
    client.force_login(user)
    # The traveller opens the checkout page before paying, as in the browser: that first page after
    # the login keeps their language in the session, so the drops below hit the checkout's own
    # queries (a drop during a session write is tests/portal/test_session_write_errors.py's).
    assert client.get(reverse("billing:checkout")).status_code in (200, 302)
    client.raise_request_exception = False
    dsn = test_database_url().replace("postgres://", "postgresql://")
    drops = errors = 0
    query_number = 0
    while True:
        query_number += 1
        wrapper, seen = _terminate_at(query_number, dsn)
        with connection.execute_wrapper(wrapper):
            response = client.post(
                reverse("billing:checkout"),
                {"start_now": "on", "plan": plan.code, "card": card.pk, "apply_wallet": "on"},
            )
        connection.close()
        if not seen["fired"]:
            break  # the whole request ran with fewer queries: every query has been a drop point
        drops += 1
        if response.status_code == 500:
            errors += 1
            assert "Something went wrong on our side" in response.content.decode()
        else:
            assert response.status_code == 302
        # Whatever committed is whole: each order paid by credit has its wallet entry, and each
        # renewal its top-up together with the card's cached state.
        orders = list(Order.objects.filter(customer=user))
        assert all(order.status in ("paid", "fulfilled") for order in orders)
        assert WalletEntry.objects.filter(order__customer=user, kind="order_payment").count() == len(orders)
        assert wallet_balance_cents(user=user) == CREDIT - sum(o.wallet_applied_cents for o in orders)
        fulfilled = [o.pk for o in orders if o.status == "fulfilled"]
        assert sorted(LedgerEntry.objects.filter(kind="topup").values_list("order_id", flat=True)) == sorted(
            fulfilled
        )
        assert ledgers_check() == []
    assert drops > 10 and errors > 0
    print(f"\n{drops} connection drops, one at each query of a checkout; {errors} clean 500 pages")
