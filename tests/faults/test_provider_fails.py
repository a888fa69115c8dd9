"""The mail and SMS providers fail: the renewal completes, the notices are retried, then marked failed."""

import contextlib

import pytest
from celery.exceptions import Retry

from billing.models import Order
from notices.models import Notification
from notices.tasks import MAX_ATTEMPTS, notification_deliver
from tests.faults.conftest import customers_with_cards, deliver, pending_orders
from tests.fixtures.services import wait_for
from usage.models import LedgerEntry

pytestmark = pytest.mark.integration


def test_a_renewal_completes_when_both_providers_fail_and_support_sees_the_failed_notices(
    fault_worker, fault_dir, webhooks_on, plan, client, settings, monkeypatch, admin_client
):
    failing = {"FAULT_EMAIL_FAIL": "1", "FAULT_SMS_FAIL": "1"}
    worker = fault_worker(env=failing)
    order = pending_orders(customers_with_cards(1), plan)[0]

    assert deliver(client, order).status_code == 200

    wait_for(
        lambda: Notification.objects.filter(attempts=1).exclude(last_error="").count() == 2,
        timeout=20,
        what=f"both notices tried once and failed\n{worker.log()}",
    )
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert LedgerEntry.objects.filter(order_id=order.pk, kind="topup").count() == 1
    assert set(Notification.objects.values_list("status", flat=True)) == {"pending"}
    assert "Retry in 30s" in worker.log()  # the provider may be back by then
    worker.kill()

    # The remaining attempts, without waiting out the back-off: the task run eagerly here, against
    # providers that still fail.
    for name, value in {**failing, "FAULT_DIR": str(fault_dir)}.items():
        monkeypatch.setenv(name, value)
    settings.EMAIL_BACKEND = "tests.faults.hooks.FaultEmailBackend"
    settings.SMS_BACKEND = "tests.faults.hooks.FaultSMSBackend"
    for notice in Notification.objects.all():
        for _ in range(MAX_ATTEMPTS):
            with contextlib.suppress(Retry):
                notification_deliver.apply(args=[notice.pk])

    notices = list(Notification.objects.all())
    assert {notice.status for notice in notices} == {"failed"}
    assert {notice.attempts for notice in notices} == {MAX_ATTEMPTS}
    assert all(f"Gave up after {MAX_ATTEMPTS} attempts" in notice.last_error for notice in notices)
    assert not (fault_dir / "mail").exists() and not (fault_dir / "sms").exists()
    # Support finds them among the failed notices in the staff pages.
    page = admin_client.get("/admin/notices/notification/?status__exact=failed").content.decode()
    assert "renewal_confirmation" in page and order.customer.email in page
