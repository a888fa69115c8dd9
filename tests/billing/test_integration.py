"""On PostgreSQL with a real Celery worker: exactly once under real concurrency."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection
from django.urls import reverse
from django.utils import timezone

from billing.models import Order
from billing.services import order_create, order_fulfil
from billing.tasks import order_fulfil_task
from tests.billing.conftest import post_event, stripe_event
from tests.billing.factories import GB
from tests.fixtures.services import wait_for
from usage.models import Card, LedgerEntry

pytestmark = pytest.mark.integration


def _in_thread(function):
    """Each thread has its own database connection, closed when it is done."""

    def run(*args):
        try:
            return function(*args)
        finally:
            close_old_connections()
            connection.close()

    return run


def paid_order(owner, card, plan, *, paid_at):
    order = order_create(user=owner, plan=plan, card=card, now=paid_at)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID, paid_at=paid_at)
    return order


def test_twenty_concurrent_fulfilments_of_one_order_renew_once(postgres, owner, card, week_plan):
    assert connection.vendor == "postgresql"
    expires_before, data_before = card.expires_at, card.data_remaining
    order = paid_order(owner, card, week_plan, paid_at=timezone.now())
    start = threading.Barrier(20)

    @_in_thread
    def fulfil(_):
        start.wait()
        return order_fulfil(order_id=order.pk, now=timezone.now()).status

    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(fulfil, range(20)))

    card.refresh_from_db()
    assert statuses == ["fulfilled"] * 20
    assert LedgerEntry.objects.filter(order_id=order.pk, kind="topup").count() == 1
    assert card.expires_at == expires_before + timedelta(days=7)
    assert card.data_remaining == data_before + 5 * GB


def test_concurrent_renewals_of_one_card_add_up_exactly(postgres, owner, card, week_plan):
    paid_at = timezone.now()
    expires_before, data_before = card.expires_at, card.data_remaining
    orders = [paid_order(owner, card, week_plan, paid_at=paid_at) for _ in range(10)]
    start = threading.Barrier(10)

    @_in_thread
    def fulfil(order):
        start.wait()
        order_fulfil(order_id=order.pk, now=timezone.now())

    with ThreadPoolExecutor(10) as pool:
        list(pool.map(fulfil, orders))

    card = Card.objects.get(pk=card.pk)
    assert Order.objects.filter(status=Order.Status.FULFILLED).count() == 10
    assert card.expires_at == expires_before + timedelta(days=70)
    assert card.data_remaining == data_before + 50 * GB
    expiries = list(
        LedgerEntry.objects.filter(card=card, kind="topup")
        .order_by("id")
        .values_list("expires_after", flat=True)
    )
    assert expiries == [expires_before + timedelta(days=7 * n) for n in range(1, 11)]


def test_the_webhook_and_the_success_page_racing_renew_once(
    postgres, owner_client, card, week_plan, fake_stripe
):
    from django.test import Client

    owner_client.post(reverse("billing:checkout"), {"start_now": "on", "plan": "week", "card": card.pk})
    order = Order.objects.get()
    session = fake_stripe.session_pay(order.stripe_checkout_session_id)
    event = stripe_event(
        "checkout.session.completed", {k: v for k, v in session.items() if not k.startswith("_")}
    )
    status_url = reverse("billing:order_status", args=[order.number]) + f"?session_id={session['id']}"
    start = threading.Barrier(8)
    user = order.customer

    @_in_thread
    def race(index):
        browser = Client()
        start.wait()
        if index % 2:
            return post_event(browser, event).status_code
        browser.force_login(user)
        return browser.get(status_url).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(race, range(8)))

    assert set(codes) == {200}
    assert LedgerEntry.objects.filter(order_id=order.pk, kind="topup").count() == 1
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED


def test_a_signed_webhook_is_renewed_by_the_real_worker_within_seconds(
    celery_worker, client, owner, card, week_plan, fake_stripe
):
    order = order_create(user=owner, plan=week_plan, card=card, now=timezone.now())
    Order.objects.filter(pk=order.pk).update(stripe_checkout_session_id="cs_test_worker")
    session = {
        "id": "cs_test_worker", "object": "checkout.session", "payment_status": "paid", "status": "complete",
        "client_reference_id": str(order.pk), "metadata": {"order_id": str(order.pk)},
        "amount_total": 1490, "currency": "eur", "payment_intent": None, "customer": None,
    }  # fmt: skip
    posted = time.monotonic()

    response = post_event(client, stripe_event("checkout.session.completed", session))

    assert response.status_code == 200
    wait_for(
        lambda: Order.objects.filter(pk=order.pk, status=Order.Status.FULFILLED).exists(),
        timeout=20,
        what="the worker to renew the card",
    )
    assert time.monotonic() - posted < 10
    assert "billing.tasks.order_fulfil_task" in celery_worker.log()


def test_twenty_queued_fulfilments_on_the_real_worker_renew_once(celery_worker, owner, card, week_plan):
    order = paid_order(owner, card, week_plan, paid_at=timezone.now())

    for _ in range(20):
        order_fulfil_task.delay(order.pk)

    wait_for(
        lambda: celery_worker.log().count("order_fulfil_task") >= 40, timeout=30, what="20 tasks to finish"
    )
    assert LedgerEntry.objects.filter(order_id=order.pk, kind="topup").count() == 1
