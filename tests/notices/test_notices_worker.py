import pytest
from django.db import transaction

from notices.models import Notification
from notices.services import notice_send
from notices.tasks import notification_deliver
from tests.accounts.factories import UserFactory
from tests.fixtures.services import wait_for

pytestmark = pytest.mark.integration


def test_a_real_worker_delivers_each_notice_once_even_when_asked_twice(celery_worker_factory, tmp_path):
    worker = celery_worker_factory(concurrency=2)
    user = UserFactory(email="anna@example.com", phone="+377612345678", phone_verified=True, notify_sms=True)

    with transaction.atomic():
        notices = notice_send(user=user, kind="account_deleted", key="worker", context={})
    sms_notice = next(n for n in notices if n.channel == "sms")
    notification_deliver.delay(sms_notice.pk)  # a duplicate delivery, e.g. a redelivered message

    wait_for(
        lambda: set(Notification.objects.values_list("status", flat=True)) == {"sent"},
        timeout=30,
        what=f"both notices sent\n{worker.log()}",
    )
    var_dir = tmp_path / "worker-1"
    sms_files = list((var_dir / "sms").glob("*.txt"))
    assert len(sms_files) == 1
    assert "+377612345678" in sms_files[0].read_text()
    assert len(list((var_dir / "mail").glob("*"))) == 1
