"""Webhooks for 1,000 orders, each delivered three times in shuffled order, on two real workers."""

import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client

from billing.models import Order, WebhookEvent
from tests.faults.conftest import customers_with_cards, deliver, messages_per_order, pending_orders
from tests.fixtures.services import wait_for
from usage.models import LedgerEntry

pytestmark = pytest.mark.integration

CARDS, ORDERS_PER_CARD, DELIVERIES = 200, 5, 3


def test_a_thousand_orders_delivered_three_times_each_renew_exactly_once(
    fault_worker, fault_dir, webhooks_on, plan
):
    orders = pending_orders(customers_with_cards(CARDS, sms=False), plan, per_card=ORDERS_PER_CARD)
    deliveries = [order for order in orders for _ in range(DELIVERIES)]
    random.shuffle(deliveries)
    workers = [fault_worker(pool="threads", concurrency=4) for _ in range(2)]
    started = time.monotonic()

    def post(chunk):
        browser = Client()
        try:
            return [deliver(browser, order).status_code for order in chunk]
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        codes = Counter(
            code for chunk in pool.map(post, [deliveries[i::8] for i in range(8)]) for code in chunk
        )
    posted = time.monotonic() - started

    assert codes == {200: len(deliveries)}
    assert WebhookEvent.objects.count() == len(orders)
    wait_for(
        lambda: not Order.objects.exclude(status=Order.Status.FULFILLED).exists(),
        timeout=150,
        interval=1,
        what=f"{len(orders)} renewals\n{workers[0].log()[-2000:]}",
    )
    wait_for(
        lambda: sum(messages_per_order(fault_dir, "mail").values()) >= len(orders),
        timeout=60,
        interval=1,
        what="one confirmation per order",
    )
    elapsed = time.monotonic() - started

    topups = Counter(LedgerEntry.objects.filter(kind="topup").values_list("order_id", flat=True))
    assert topups == Counter({order.pk: 1 for order in orders})  # 0 doubled, 0 missed
    assert messages_per_order(fault_dir, "mail") == Counter({order.number: 1 for order in orders})
    call_command("check_ledgers")  # exits 1 on any card that disagrees with its ledger
    print(
        f"\n{len(deliveries)} deliveries of {len(orders)} events posted in {posted:.1f} s; "
        f"all renewed and confirmed once in {elapsed:.1f} s"
    )
