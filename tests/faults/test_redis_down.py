"""Redis stops while Stripe keeps sending webhooks: stored events are never lost or doubled."""

import socket
import subprocess
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import Order, WebhookEvent
from billing.reconcile import orders_reconcile
from notices.models import Notification
from notices.services import NOTICE_STALE_AFTER, notifications_requeue_stale
from tests.faults.conftest import customers_with_cards, deliver, messages_per_order, pending_orders
from tests.fixtures.services import wait_for
from usage.ledger import ledgers_check
from usage.models import LedgerEntry

pytestmark = pytest.mark.integration


class RedisServer:
    """A redis-server of this test's own on a free port: stopping it disturbs nobody else."""

    def __init__(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_for(self._answers, timeout=10, what="redis-server to answer")

    def _answers(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
        except OSError:
            return False
        return True

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.kill()  # everything queued in it is gone, as in a crash without persistence
            self.process.wait(10)


@pytest.fixture
def own_redis(redis_url):
    server = RedisServer()
    server.start()
    from portal.celery import app

    broker_url = app.conf.broker_url
    app.conf.broker_url = server.url
    app._pool = None
    app.amqp._producer_pool = None
    try:
        yield server
    finally:
        server.stop()
        app.conf.broker_url = broker_url
        app._pool = None
        app.amqp._producer_pool = None


def test_webhooks_during_a_redis_outage_are_stored_and_every_order_renewed_once(
    own_redis, fault_worker, fault_dir, webhooks_on, plan, client
):
    worker = fault_worker(env={"REDIS_URL": own_redis.url})
    orders = pending_orders(customers_with_cards(30), plan)
    before, during, after = orders[:10], orders[10:20], orders[20:]
    started = time.monotonic()

    assert [deliver(client, order).status_code for order in before] == [200] * 10
    own_redis.stop()
    codes = [deliver(client, order).status_code for order in during]
    repeats = [deliver(client, order).status_code for order in during[:3]]  # Stripe retrying
    outage = time.monotonic() - started
    own_redis.start()
    assert [deliver(client, order).status_code for order in after] == [200] * 10

    assert codes == [200] * 10, "stored events are acknowledged even when they cannot be queued"
    assert repeats == [200] * 3
    assert WebhookEvent.objects.count() == 30
    # The restarted Redis is empty: queued and in-flight tasks, and the queue bindings, are gone
    # until the worker reconnects and declares its queue again.
    wait_for(
        lambda: worker.log().count("Connected to redis") >= 2, timeout=30, what="the worker to reconnect"
    )
    # Beat, a few minutes later: the reconciler runs again every stored event nobody processed, and
    # the notice sweep queues again the confirmations whose queueing failed.
    later = timezone.now() + timedelta(minutes=3)
    assert orders_reconcile(now=later)["events"] >= 10

    def settled():
        notifications_requeue_stale(now=timezone.now() + NOTICE_STALE_AFTER + timedelta(seconds=1))
        return not Order.objects.exclude(status=Order.Status.FULFILLED).exists() and not (
            Notification.objects.exclude(status=Notification.Status.SENT).exists()
        )

    wait_for(settled, timeout=40, interval=1, what=f"every order renewed and confirmed\n{worker.log()}")
    topups = Counter(LedgerEntry.objects.filter(kind="topup").values_list("order_id", flat=True))
    assert topups == Counter({order.pk: 1 for order in orders})  # 0 lost, 0 doubled
    assert ledgers_check() == []
    assert messages_per_order(fault_dir, "mail") == Counter({order.number: 1 for order in orders})
    print(f"\n30 orders, 33 deliveries, 13 during a Redis outage of {outage:.1f} s; all renewed once")
