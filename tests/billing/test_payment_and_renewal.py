"""A Stripe payment recorded and renewed in one transaction (services.order_pay_and_renew):
nothing half done if the worker dies in the middle, and a constant number of queries (issue 14:
the renewal task's own cost, bench/renewal_task.py)."""

from unittest import mock

import pytest
from celery.app.task import Task
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing import webhooks
from billing.models import Order
from billing.services import checkout_start, order_create, order_mark_paid
from billing.tasks import order_fulfil_task
from notices.models import Notification
from usage.models import LedgerEntry, ProvisioningEvent

# Queries of the webhook task for a paid Checkout Session, and of the fulfilment of an order paid
# beforehand (what bench/renewal_task.py prints), without the BEGIN and COMMIT that SQLite logs as
# queries and PostgreSQL does not; the work they queue is not run here.
RENEWAL_BY_EVENT_QUERIES = 17
RENEWAL_OF_PAID_ORDER_QUERIES = 14


def statements(queries: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in queries if query["sql"].split()[0].upper() not in ("BEGIN", "COMMIT")]


class WorkerDied(BaseException):
    """The worker process is killed (or runs out of memory) in the middle of the renewal."""


@pytest.fixture
def stored_payment(demo_mode, owner, card, week_plan):
    """Alice paid on the demo page: the `checkout.session.completed` stored, not handled yet."""
    now = timezone.now()
    order = order_create(user=owner, plan=week_plan, card=card, now=now)
    checkout_start(order=order, success_url="/", cancel_url="/", now=now)
    with mock.patch.object(webhooks, "_enqueue"):
        stored = webhooks.demo_event_deliver(order=order, event_type="checkout.session.completed", now=now)
    return order, stored


def test_a_payment_by_stripe_event_is_recorded_and_renewed_in_a_constant_number_of_queries(stored_payment):
    order, stored = stored_payment

    with mock.patch.object(Task, "apply_async"), CaptureQueriesContext(connection) as queries:
        webhooks.webhook_event_process(webhook_event_id=stored.pk, now=timezone.now())

    assert len(statements(queries)) == RENEWAL_BY_EVENT_QUERIES, "\n".join(statements(queries))

    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert order.paid_at is not None
    assert LedgerEntry.objects.filter(order_id=order.pk, kind="topup").count() == 1


def test_a_paid_order_is_renewed_in_a_constant_number_of_queries(demo_mode, owner, card, week_plan):
    now = timezone.now()
    order = order_create(user=owner, plan=week_plan, card=card, now=now)
    order_mark_paid(order_id=order.pk, paid_at=now, now=now, fulfil_in_background=False)

    with mock.patch.object(Task, "apply_async"), CaptureQueriesContext(connection) as queries:
        order_fulfil_task.apply(args=(order.pk,))

    assert len(statements(queries)) == RENEWAL_OF_PAID_ORDER_QUERIES, "\n".join(statements(queries))

    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED


def test_a_worker_dying_inside_the_renewal_leaves_the_payment_unrecorded_and_the_retry_completes_it(
    stored_payment, card
):
    order, stored = stored_payment
    expires_before = card.expires_at

    # The last step of the transaction: the top-up, the card and the provisioning event are written.
    with (
        mock.patch("billing.services.renewal_confirmation_send", side_effect=WorkerDied),
        pytest.raises(WorkerDied),
    ):
        webhooks.webhook_event_process(webhook_event_id=stored.pk, now=timezone.now())

    order.refresh_from_db()
    card.refresh_from_db()
    stored.refresh_from_db()
    assert (order.status, order.paid_at, order.fulfilled_at) == (Order.Status.PENDING, None, None)
    assert card.expires_at == expires_before
    assert not LedgerEntry.objects.filter(order_id=order.pk).exists()
    assert not ProvisioningEvent.objects.exists()
    assert not Notification.objects.exists()
    assert stored.processed_at is None  # so the reconciler (or the task's retry) runs it again

    webhooks.webhook_event_process(webhook_event_id=stored.pk, now=timezone.now())

    order.refresh_from_db()
    card.refresh_from_db()
    stored.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert card.expires_at == expires_before + order.duration
    assert LedgerEntry.objects.filter(order_id=order.pk, kind="topup").count() == 1
    assert ProvisioningEvent.objects.count() == 1
    assert len(mail.outbox) == 1
    assert stored.processed_at is not None
    assert stored.attempts == 2


def test_the_event_run_again_after_it_renewed_changes_nothing(stored_payment, card):
    order, stored = stored_payment
    webhooks.webhook_event_process(webhook_event_id=stored.pk, now=timezone.now())
    card.refresh_from_db()
    expires_after = card.expires_at

    webhooks.webhook_event_rerun(webhook_event_id=stored.pk, now=timezone.now())

    card.refresh_from_db()
    assert card.expires_at == expires_after
    assert LedgerEntry.objects.filter(order_id=order.pk, kind="topup").count() == 1
    assert len(mail.outbox) == 1
