from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.db import transaction

from notices import sms
from notices.models import Notification
from tests.accounts.factories import UserFactory
from usage.alerts import card_alerts_send
from usage.feeds import usage_records_apply
from usage.ledger import card_suspend, card_topup
from usage.models import Card
from usage.tasks import card_alerts_send as card_alerts_task

from .ledger_factories import CardFactory

GB = 1_000_000_000
DAY = timedelta(days=1)
WEEK = timedelta(days=7)
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
EXPIRY = T0 + WEEK

pytestmark = pytest.mark.django_db


@pytest.fixture
def sms_outbox():
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


@pytest.fixture
def traveller():
    return UserFactory(email="anna@example.com", phone="+37761234567", phone_verified=True, notify_sms=True)


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    """Run the alerts at `now` and deliver what they queued, as the worker would."""

    def run(now):
        with time_machine.travel(now, tick=False), django_capture_on_commit_callbacks(execute=True):
            return card_alerts_send(now=now)

    return run


def topup(card, *, allowance=10 * GB, duration=WEEK, start=T0, order_id=None):
    with transaction.atomic():
        card_topup(
            card=Card.objects.select_for_update().get(pk=card.pk),
            allowance_bytes=allowance,
            duration=duration,
            start=start,
            order_id=order_id or card.pk,
            now=start,
        )
    card.refresh_from_db()
    return card


def use(card, nbytes, *, at, record_id=None):
    usage_records_apply(
        records=[
            {
                "record_id": record_id or f"r{at.timestamp()}-{nbytes}",
                "iccid": card.iccid,
                "start": (at - timedelta(minutes=30)).isoformat(),
                "end": at.isoformat(),
                "bytes": nbytes,
            }
        ],
        now=at,
    )
    card.refresh_from_db()


def kinds_sent():
    return sorted(Notification.objects.values_list("kind", "channel"))


@pytest.fixture
def card(traveller):
    return topup(CardFactory(owner=traveller, label="Anna's phone"))


def test_nothing_is_sent_below_75_percent(card, send):
    use(card, int(7.4 * GB), at=T0 + DAY)
    assert send(T0 + DAY) == 0
    assert mail.outbox == []


def test_75_percent_used_is_alerted_once_by_email_and_sms_with_a_renew_link(card, send, sms_outbox, settings):
    use(card, int(7.5 * GB), at=T0 + DAY)
    assert send(T0 + DAY) == 2
    assert kinds_sent() == [("card_data_75", "email"), ("card_data_75", "sms")]
    [email] = mail.outbox
    assert email.to == ["anna@example.com"]
    assert email.subject == "Anna's phone: 75% of your data used"
    renew = f"{settings.SITE_URL}/plans/?card={card.pk}"
    assert renew in email.body
    assert "2.5 GB is left, valid until 8 Nov 2026, 13:00 (Monaco time, CET)" in email.body
    html, _ = email.alternatives[0]
    assert f'href="{renew}"' in html
    [text] = sms_outbox
    assert text.to == "+37761234567"
    assert renew in text.body
    assert send(T0 + DAY + timedelta(minutes=5)) == 0
    assert len(mail.outbox) == 1


def test_90_percent_is_alerted_after_75(card, send):
    use(card, int(8 * GB), at=T0 + DAY)
    send(T0 + DAY)
    use(card, int(1.2 * GB), at=T0 + 2 * DAY)
    send(T0 + 2 * DAY)
    send(T0 + 2 * DAY + timedelta(hours=1))
    assert [m.subject for m in mail.outbox] == [
        "Anna's phone: 80% of your data used",
        "Anna's phone: almost out of data (92% used)",
    ]


def test_a_jump_past_90_percent_sends_only_the_90_percent_alert(card, send):
    use(card, int(9.5 * GB), at=T0 + DAY)
    send(T0 + DAY)
    send(T0 + DAY + timedelta(hours=1))
    assert kinds_sent() == [("card_data_90", "email"), ("card_data_90", "sms")]


def test_a_new_period_gets_its_alerts_again(card, send):
    use(card, int(8 * GB), at=T0 + DAY)
    send(T0 + DAY)
    renewed = EXPIRY + DAY
    topup(card, start=renewed, order_id=2)
    use(card, int(8 * GB), at=renewed + DAY)
    send(renewed + DAY)
    assert [n.kind for n in Notification.objects.filter(channel="email").order_by("id")] == [
        "card_data_75",
        "card_data_75",
    ]


def test_renewing_before_expiry_adds_data_so_75_percent_of_the_new_total_alerts_again(card, send):
    use(card, int(8 * GB), at=T0 + DAY)
    send(T0 + DAY)
    topup(card, start=T0 + 2 * DAY, order_id=2)  # 12 GB left of 20 GB: 40 % used
    assert send(T0 + 2 * DAY) == 0
    use(card, int(7 * GB), at=T0 + 3 * DAY)  # 5 GB left of 20: 75 %
    send(T0 + 3 * DAY)
    assert len(mail.outbox) == 2


def test_expiry_reminders_at_72_and_24_hours_each_once(card, send):
    send(EXPIRY - timedelta(hours=73))
    assert mail.outbox == []
    send(EXPIRY - timedelta(hours=71))
    send(EXPIRY - timedelta(hours=60))
    send(EXPIRY - timedelta(hours=23))
    send(EXPIRY - timedelta(hours=2))
    assert [m.subject for m in mail.outbox] == [
        "Anna's phone expires in 3 days",
        "Anna's phone expires within 24 hours",
    ]
    assert "expires in 2\xa0days, 23\xa0hours, on 8 Nov 2026, 13:00 (Monaco time, CET)" in mail.outbox[0].body


def test_a_late_run_sends_only_the_nearest_reminder(card, send):
    send(EXPIRY - timedelta(hours=10))
    assert kinds_sent() == [("card_expiry_24h", "email"), ("card_expiry_24h", "sms")]


def test_no_reminder_after_expiry(card, send):
    send(EXPIRY + timedelta(minutes=1))
    assert mail.outbox == []


def test_no_reminder_about_an_expiry_the_customer_has_just_bought(traveller, send):
    topup(CardFactory(owner=traveller), duration=DAY, start=T0)
    send(T0 + timedelta(minutes=5))
    assert mail.outbox == []


def test_a_renewal_before_expiry_gets_reminders_for_the_new_expiry(card, send):
    send(EXPIRY - timedelta(hours=20))
    topup(card, start=EXPIRY - timedelta(hours=19), order_id=2)
    send(EXPIRY - timedelta(hours=18))
    assert len(mail.outbox) == 1
    send(EXPIRY + WEEK - timedelta(hours=20))
    assert len(mail.outbox) == 2


def test_channels_follow_the_customers_choice_and_language(send, sms_outbox):
    user = UserFactory(
        email="li@example.com",
        phone="+37761234568",
        phone_verified=True,
        notify_email=False,
        notify_sms=True,
        language="fr",
    )
    topup(CardFactory(owner=user, label="Li"))
    send(EXPIRY - timedelta(hours=20))
    assert mail.outbox == []
    [text] = sms_outbox
    assert Notification.objects.get().language == "fr"
    assert "Li" in text.body


def test_suspended_and_ownerless_cards_get_no_alerts(traveller, send, django_user_model):
    staff = django_user_model.objects.create_user(email="agent@example.com", is_staff=True)
    suspended = topup(CardFactory(owner=traveller))
    with transaction.atomic():
        card_suspend(
            card=Card.objects.select_for_update().get(pk=suspended.pk),
            staff_user=staff,
            reason="stolen",
            now=T0,
        )
    topup(CardFactory(owner=None))
    assert send(EXPIRY - timedelta(hours=20)) == 0


def test_the_notice_key_names_the_card_and_its_period(card, send):
    send(EXPIRY - timedelta(hours=20))
    notice = Notification.objects.get(channel="email")
    assert notice.dedupe_key == (
        f"card_expiry_24h:card:{card.pk}:period:2026-11-01T12:00:00+00:00"
        ":expires:2026-11-08T12:00:00+00:00:email"
    )


@time_machine.travel(EXPIRY - timedelta(hours=20), tick=False)
def test_the_periodic_task_runs_the_alerts_twice_without_sending_twice(
    card, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        card_alerts_task.delay()
        card_alerts_task.delay()
    assert len(mail.outbox) == 1
