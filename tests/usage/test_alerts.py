from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.db import transaction

from notices import sms
from notices.models import Notification
from tests.accounts.factories import UserFactory
from usage.alerts import card_alerts_send, renew_url
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


@pytest.fixture
def month_card(traveller):
    """10 GB for 30 days: data alerts a few days in, far from any expiry reminder."""
    return topup(CardFactory(owner=traveller, label="Anna's phone"), duration=30 * DAY)


def test_nothing_is_sent_below_75_percent(month_card, send):
    # 7.4 GB in four days: 2.6 GB left lasts 1.4 days at that pace, so no run-out alert either.
    use(month_card, int(7.4 * GB), at=T0 + 4 * DAY)
    assert send(T0 + 4 * DAY) == 0
    assert mail.outbox == []


def test_75_percent_used_is_alerted_once_by_email_and_sms_with_a_renew_link(
    month_card, send, sms_outbox, settings
):
    use(month_card, int(7.5 * GB), at=T0 + 4 * DAY)
    assert send(T0 + 4 * DAY) == 2
    assert kinds_sent() == [("card_data_75", "email"), ("card_data_75", "sms")]
    [email] = mail.outbox
    assert email.to == ["anna@example.com"]
    assert email.subject == "Anna's phone: 75% of your data used"
    renew = f"{settings.SITE_URL}/plans/?card={month_card.pk}"
    assert renew in email.body
    assert "2.5 GB is left, valid until 1 Dec 2026, 13:00 (Monaco time, CET)" in email.body
    # 7.5 GB in 4 days: 1.9 GB a day, so 2.5 GB last 32 hours from Thu 5 Nov, 13:00.
    assert (
        "At your pace (≈ 1.9\xa0GB a day) your data runs out around Fri 6 Nov, 21:00 (Monaco time), "
        "3\xa0weeks before your plan ends." in email.body
    )
    html, _ = email.alternatives[0]
    assert f'href="{renew}"' in html
    [text] = sms_outbox
    assert text.to == "+37761234567"
    assert renew in text.body
    assert send(T0 + 4 * DAY + timedelta(minutes=5)) == 0
    assert len(mail.outbox) == 1


def test_90_percent_is_alerted_after_75(month_card, send):
    use(month_card, int(8 * GB), at=T0 + 5 * DAY)
    send(T0 + 5 * DAY)
    use(month_card, int(1.2 * GB), at=T0 + 6 * DAY)
    send(T0 + 6 * DAY)
    send(T0 + 6 * DAY + timedelta(hours=1))
    assert [m.subject for m in mail.outbox] == [
        "Anna's phone: 80% of your data used",
        "Anna's phone: almost out of data (92% used)",
    ]


def test_a_jump_past_90_percent_sends_only_the_90_percent_alert(card, send):
    use(card, int(9.5 * GB), at=T0 + DAY)
    send(T0 + DAY)
    send(T0 + DAY + timedelta(hours=1))
    assert kinds_sent() == [("card_data_90", "email"), ("card_data_90", "sms")]


def test_a_new_period_gets_its_alerts_again(month_card, send):
    use(month_card, int(8 * GB), at=T0 + 5 * DAY)
    send(T0 + 5 * DAY)
    renewed = T0 + 31 * DAY
    topup(month_card, start=renewed, order_id=2, duration=30 * DAY)
    use(month_card, int(8 * GB), at=renewed + 5 * DAY)
    send(renewed + 5 * DAY)
    assert [n.kind for n in Notification.objects.filter(channel="email").order_by("id")] == [
        "card_data_75",
        "card_data_75",
    ]


def test_renewing_before_expiry_adds_data_so_75_percent_of_the_new_total_alerts_again(month_card, send):
    use(month_card, int(8 * GB), at=T0 + 5 * DAY)
    send(T0 + 5 * DAY)
    topup(month_card, start=T0 + 5 * DAY, order_id=2, duration=30 * DAY)  # 12 GB left of 20 GB: 40 % used
    assert send(T0 + 5 * DAY) == 0
    use(month_card, int(7 * GB), at=T0 + 12 * DAY)  # 5 GB left of 20: 75 %
    send(T0 + 12 * DAY)
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


# --- The run-out alert (usage.forecast) ----------------------------------------------------------


def test_data_running_out_within_24_hours_at_this_pace_is_alerted_once_per_period_and_channel(
    month_card, send, sms_outbox
):
    # 6 GB in the first two days: 3 GB a day, 4 GB left lasts 32 hours... not yet within 24 hours.
    use(month_card, 6 * GB, at=T0 + 2 * DAY)
    assert send(T0 + 2 * DAY) == 0
    # 2 GB more by the next morning: 8 GB in 2.9 days, the 2 GB left run out in 17.5 hours.
    use(month_card, 2 * GB, at=T0 + 2 * DAY + timedelta(hours=22))
    assert send(T0 + 2 * DAY + timedelta(hours=22)) == 2
    assert send(T0 + 2 * DAY + timedelta(hours=23)) == 0

    assert kinds_sent() == [("card_runout_24h", "email"), ("card_runout_24h", "sms")]
    [email] = mail.outbox
    assert email.subject == "Anna's phone: at this pace your data runs out within 24 hours"
    assert (
        "runs out within 24 hours, before your plan ends on 1 Dec 2026, 13:00 (Monaco time, CET)"
        in email.body
    )
    assert (
        "At your pace (≈ 2.7\xa0GB a day) your data runs out around Thu 5 Nov, 04:00 (Monaco time)"
        in email.body
    )
    [text] = sms_outbox
    assert text.body.startswith(
        "Monaco Data: at your pace Anna's phone runs out of data by Thu 04:00 Monaco time."
    )
    # One GSM-7 segment with a renew link (billing.renew_links) on a 30-character site address.
    renew_link = "https://portal.example-carrier.mc/r/" + "x" * 22
    assert len(text.body.replace(renew_url(month_card), renew_link)) <= 160


def test_the_75_percent_alert_waits_a_day_after_a_run_out_alert_then_goes_out_if_still_due(month_card, send):
    use(month_card, int(7.6 * GB), at=T0 + DAY)  # 76 % used in a day: both are due
    send(T0 + DAY)
    send(T0 + DAY + timedelta(hours=23))
    assert [kind for kind, channel in kinds_sent() if channel == "email"] == ["card_runout_24h"]

    send(T0 + 2 * DAY + timedelta(minutes=5))

    kinds = Notification.objects.filter(channel="email").order_by("id").values_list("kind", flat=True)
    assert list(kinds) == ["card_runout_24h", "card_data_75"]


def test_below_10_percent_the_90_percent_alert_speaks_not_the_run_out_alert(month_card, send):
    use(month_card, int(9.5 * GB), at=T0 + DAY)
    send(T0 + DAY)
    assert kinds_sent() == [("card_data_90", "email"), ("card_data_90", "sms")]
    assert "your data runs out around" in mail.outbox[0].body


def test_no_use_or_too_little_history_sends_no_run_out_alert(traveller, send):
    quiet = topup(CardFactory(owner=traveller), duration=30 * DAY)
    fresh = topup(CardFactory(owner=traveller), duration=30 * DAY, start=T0 + 5 * DAY, order_id=99)
    use(fresh, 5 * GB, at=T0 + 5 * DAY + timedelta(hours=6))

    assert send(T0 + 5 * DAY + timedelta(hours=6)) == 0
    assert quiet.usage_updated_at is None


def test_a_renewal_with_more_data_gets_its_own_run_out_alert(month_card, send):
    use(month_card, 5 * GB, at=T0 + DAY)
    send(T0 + DAY)
    topup(month_card, start=T0 + DAY, order_id=2, duration=30 * DAY)  # 15 GB left of 20
    use(month_card, 9 * GB, at=T0 + 2 * DAY)  # 14 GB in 2 days, 6 GB left: runs out in under a day
    send(T0 + 2 * DAY)

    kinds = Notification.objects.filter(channel="email").order_by("id").values_list("kind", flat=True)
    assert list(kinds) == ["card_runout_24h", "card_runout_24h"]
