from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.utils import translation

from notices import sms
from notices.models import Notification
from notices.services import NoticeError, notice_send, notification_deliver, notification_resend
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def traveller():
    return UserFactory(email="anna@example.com", phone="+377612345678", phone_verified=True, notify_sms=True)


def send(user, key="1", kind="account_deleted", capture=None):
    with capture(execute=True):
        return notice_send(user=user, kind=kind, key=key, context={"order_id": 1})


def test_it_sends_one_notice_per_chosen_channel(traveller, sms_outbox, django_capture_on_commit_callbacks):
    notices = send(traveller, capture=django_capture_on_commit_callbacks)

    assert sorted(n.channel for n in notices) == ["email", "sms"]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["anna@example.com"]
    assert mail.outbox[0].subject == "Your account has been deleted"
    html, mimetype = mail.outbox[0].alternatives[0]
    assert mimetype == "text/html"
    assert "<h1>Your account has been deleted</h1>" in html
    assert f"{settings.SITE_URL}/help/" in mail.outbox[0].body
    assert "profile page" not in mail.outbox[0].body  # no account left to manage
    assert [m.to for m in sms_outbox] == ["+377612345678"]
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}


def test_it_sends_each_notice_at_most_once_per_channel(
    traveller, sms_outbox, django_capture_on_commit_callbacks
):
    send(traveller, key="order:7", capture=django_capture_on_commit_callbacks)
    again = send(traveller, key="order:7", capture=django_capture_on_commit_callbacks)

    assert again == []
    assert len(mail.outbox) == 1
    assert len(sms_outbox) == 1
    assert Notification.objects.count() == 2


def test_a_different_key_is_a_different_notice(traveller, django_capture_on_commit_callbacks):
    send(traveller, key="a", capture=django_capture_on_commit_callbacks)
    send(traveller, key="b", capture=django_capture_on_commit_callbacks)

    assert len(mail.outbox) == 2


def test_it_skips_sms_without_a_verified_phone(sms_outbox, django_capture_on_commit_callbacks):
    user = UserFactory(phone="+377612345678", phone_verified=False, notify_sms=True)

    notices = send(user, capture=django_capture_on_commit_callbacks)

    assert [n.channel for n in notices] == ["email"]
    assert sms_outbox == []


def test_it_respects_a_traveller_who_turned_email_off(sms_outbox, django_capture_on_commit_callbacks):
    user = UserFactory(phone="+377612345678", phone_verified=True, notify_sms=True, notify_email=False)

    send(user, capture=django_capture_on_commit_callbacks)

    assert mail.outbox == []
    assert len(sms_outbox) == 1


def test_a_phone_only_traveller_gets_notices_by_sms_whatever_the_stored_choice(
    sms_outbox, django_capture_on_commit_callbacks
):
    # The old sign-up default: "by email" ticked without an address, SMS off.
    user = UserFactory(
        email=None, phone="+377640123456", phone_verified=True, notify_email=True, notify_sms=False
    )

    notices = send(user, capture=django_capture_on_commit_callbacks)

    assert [n.channel for n in notices] == ["sms"]
    assert [m.to for m in sms_outbox] == ["+377640123456"]


def test_a_traveller_with_every_channel_off_still_hears_on_one_they_have(
    sms_outbox, django_capture_on_commit_callbacks
):
    by_phone = UserFactory(phone="+377612345678", phone_verified=True, notify_email=False, notify_sms=False)
    by_email = UserFactory(phone="+377612345679", phone_verified=False, notify_email=False, notify_sms=True)

    assert [n.channel for n in send(by_phone, capture=django_capture_on_commit_callbacks)] == ["sms"]
    assert [n.channel for n in send(by_email, capture=django_capture_on_commit_callbacks)] == ["email"]


@pytest.fixture
def probe_templates(settings):
    # A tests-only notice kind whose templates print the language they were rendered in.
    settings.TEMPLATES = [
        {
            **settings.TEMPLATES[0],
            "DIRS": [Path(__file__).parent / "templates", *settings.TEMPLATES[0]["DIRS"]],
        }
    ]


def test_a_confirmation_that_must_reach_the_traveller_goes_by_email_whatever_they_chose(
    sms_outbox, django_capture_on_commit_callbacks
):
    user = UserFactory(notify_email=False, phone="+377612345678", phone_verified=True, notify_sms=False)

    with django_capture_on_commit_callbacks(execute=True):
        notices = notice_send(user=user, kind="account_deleted", key="1", context={}, always_email=True)

    assert [n.channel for n in notices] == ["email"]
    assert len(mail.outbox) == 1
    assert sms_outbox == []


def test_it_renders_in_the_travellers_language(
    traveller, sms_outbox, probe_templates, django_capture_on_commit_callbacks
):
    traveller.language = "fr"
    traveller.save()

    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        notice_send(
            user=traveller, kind="language_probe", key="1", context={"order_number": "MC-2026-000123"}
        )

    [message] = mail.outbox
    assert message.subject == "Subject in fr"
    assert message.body.startswith("Text in fr for order MC-2026-000123: Mot de passe")
    assert "<p>HTML in fr</p>" in message.alternatives[0][0]
    assert [m.body for m in sms_outbox] == ["SMS in fr for order MC-2026-000123"]


def test_the_language_is_the_one_chosen_when_the_notice_was_sent(traveller, probe_templates):
    traveller.language = "zh-hans"
    traveller.save()
    notices = notice_send(user=traveller, kind="language_probe", key="1", context={"order_number": "1"})
    traveller.language = "it"
    traveller.save()

    for notice in notices:  # the worker runs later
        notification_deliver(notification_id=notice.pk)

    assert mail.outbox[0].subject == "Subject in zh-hans"


def test_it_refuses_a_context_that_is_not_json(traveller):
    with pytest.raises(NoticeError, match="JSON"):
        notice_send(user=traveller, kind="account_deleted", key="1", context={"when": object()})

    assert Notification.objects.count() == 0


class FailingBackend(sms.BaseBackend):
    def send(self, message):
        raise sms.SMSError("provider down: HTTP 503")


@pytest.fixture
def eager_retries():
    # Eager Celery replays retries in-process only when task errors are not propagated.
    from portal.celery import app

    before = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = before


def test_it_retries_a_failing_provider_then_marks_the_notice_failed(
    traveller, settings, eager_retries, django_capture_on_commit_callbacks
):
    settings.SMS_BACKEND = "tests.notices.test_notices.FailingBackend"

    send(traveller, capture=django_capture_on_commit_callbacks)

    failed = Notification.objects.get(channel="sms")
    assert failed.status == "failed"
    assert failed.attempts == 5
    assert "provider down: HTTP 503" in failed.last_error
    assert Notification.objects.get(channel="email").status == "sent"


def test_a_missing_template_fails_the_notice_at_once(traveller, django_capture_on_commit_callbacks):
    send(traveller, kind="no_such_kind", capture=django_capture_on_commit_callbacks)

    notice = Notification.objects.get(channel="email")
    assert notice.status == "failed"
    assert notice.attempts == 1
    assert "TemplateDoesNotExist" in notice.last_error


def test_support_can_resend_a_failed_notice(
    traveller, settings, sms_outbox, eager_retries, django_capture_on_commit_callbacks
):
    settings.SMS_BACKEND = "tests.notices.test_notices.FailingBackend"
    send(traveller, capture=django_capture_on_commit_callbacks)
    failed = Notification.objects.get(channel="sms")
    settings.SMS_BACKEND = "notices.sms.MemoryBackend"

    with django_capture_on_commit_callbacks(execute=True):
        notification_resend(notification=failed)

    failed.refresh_from_db()
    assert failed.status == "sent"
    assert failed.last_error == ""
    assert len(sms_outbox) == 1


def test_a_notice_already_claimed_by_another_worker_is_not_sent_twice(
    traveller, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    from notices.services import notification_claim, notification_deliver

    notices = notice_send(user=traveller, kind="account_deleted", key="x", context={})
    email = next(n for n in notices if n.channel == "email")
    assert notification_claim(notification_id=email.pk, now=timezone.now())

    assert notification_deliver(notification_id=email.pk) is False
    assert mail.outbox == []


def test_a_resent_notice_goes_to_the_address_the_traveller_has_today(
    traveller, django_capture_on_commit_callbacks
):
    send(traveller, capture=django_capture_on_commit_callbacks)
    traveller.email = "new@example.com"
    traveller.save()
    email_notice = Notification.objects.get(channel="email")

    with django_capture_on_commit_callbacks(execute=True):
        notification_resend(notification=email_notice)

    assert [m.to for m in mail.outbox] == [["anna@example.com"], ["new@example.com"]]


def test_a_notice_of_a_deleted_account_cannot_be_resent(traveller, django_capture_on_commit_callbacks):
    from front.services import account_delete

    send(traveller, capture=django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        account_delete(user=traveller)

    with pytest.raises(NoticeError, match="account was deleted"):
        notification_resend(notification=Notification.objects.filter(kind="account_deleted").first())


def test_a_notice_whose_task_was_lost_is_sent_by_the_periodic_sweep(traveller, time_machine):
    from notices.tasks import notifications_requeue_stale

    time_machine.move_to("2026-11-25 10:00:00+00:00")
    notice_send(user=traveller, kind="account_deleted", key="lost", context={})  # on_commit never runs
    time_machine.move_to("2026-11-25 10:05:00+00:00")
    assert notifications_requeue_stale() == 0  # young: its task may still be on its way

    time_machine.move_to("2026-11-25 10:20:00+00:00")
    assert notifications_requeue_stale() == 2

    assert len(mail.outbox) == 1
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}


def test_the_sweep_leaves_a_notice_a_live_worker_holds(traveller, time_machine):
    from django.utils import timezone

    from notices.services import notification_claim, notifications_requeue_stale

    time_machine.move_to("2026-11-25 10:00:00+00:00")
    notices = notice_send(user=traveller, kind="account_deleted", key="held", context={})
    time_machine.move_to("2026-11-25 10:20:00+00:00")
    notification_claim(notification_id=notices[0].pk, now=timezone.now())

    assert notifications_requeue_stale(now=timezone.now()) == 1


def test_a_broker_that_is_down_does_not_lose_the_notice(
    traveller, monkeypatch, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError

    from notices.tasks import notification_deliver as task

    def broker_down(*args, **kwargs):
        raise OperationalError("Connection refused")

    monkeypatch.setattr(task, "delay", broker_down)

    with django_capture_on_commit_callbacks(execute=True):
        notices = notice_send(user=traveller, kind="account_deleted", key="1", context={})

    assert len(notices) == 2
    assert set(Notification.objects.values_list("status", flat=True)) == {"pending"}
