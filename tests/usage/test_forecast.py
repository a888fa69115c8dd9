"""The usage forecast (usage.forecast): one rule, under a frozen clock, with steady, bursty and zero use."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation

from tests.usage.card_factories import GB, OwnedCardFactory, usage_entry
from usage.feeds import usage_records_apply
from usage.forecast import (
    MIN_HISTORY,
    Outlook,
    card_forecast,
    forecast_from_context,
    forecast_sentence,
    forecast_window_start,
)
from usage.models import Card, UsageRecord
from usage.selectors import usage_by_monaco_day

# Tuesday 1 December 2026, 13:00 in Monaco (CET, UTC+1).
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TODAY = date(2026, 12, 1)
MB = 1_000_000


def card(**fields) -> Card:
    defaults = {
        "iccid": "89377000000000000017",
        "period_started_at": NOW - timedelta(days=10),
        "period_allowance": 10 * GB,
        "data_remaining": 3 * GB,
        "expires_at": NOW + timedelta(days=5),
    }
    return Card(**{**defaults, **fields})


def words(forecast) -> str:
    """The sentence with its no-break spaces (numbers stay with their units) read as spaces."""
    return forecast_sentence(forecast).replace("\xa0", " ")


def steady(per_day: int, *, days: int = 7) -> dict[date, int]:
    """`per_day` bytes on each of the last `days` whole days, and today in proportion to its 13 hours."""
    usage = {TODAY - timedelta(days=offset): per_day for offset in range(1, days + 1)}
    usage[TODAY] = per_day * 13 // 24
    return usage


def test_the_window_starts_at_monaco_midnight_seven_days_back():
    assert forecast_window_start(card=card(), now=NOW) == datetime(2026, 11, 23, 23, 0, tzinfo=UTC)


def test_steady_use_runs_out_before_the_plan_ends_and_says_when():
    forecast = card_forecast(card=card(), per_day=steady(800 * MB), now=NOW)

    assert forecast.outlook == Outlook.RUNS_OUT
    assert forecast.daily_bytes == pytest.approx(800 * MB, rel=0.001)
    # 3 GB at 0.8 GB a day: 3.75 days from Tue 13:00 is Sat 5 Dec, 07:00 in Monaco.
    assert abs(forecast.runs_out_at - datetime(2026, 12, 5, 6, 0, tzinfo=UTC)) < timedelta(minutes=5)
    with translation.override("en"):
        assert words(forecast) == (
            "At your pace (≈ 800 MB a day) your data runs out around Sat 5 Dec, 07:00 (Monaco time), "
            "1 day before your plan ends."
        )


def test_the_same_week_used_in_bursts_gives_the_same_pace_as_steady_use():
    # 1.6 GB every other day instead of 0.8 GB every day: the same 5.6 GB over the week.
    bursty = {TODAY - timedelta(days=offset): 0 for offset in range(1, 8)}
    bursty.update({TODAY - timedelta(days=offset): 1600 * MB for offset in (1, 3, 5)})
    bursty[TODAY - timedelta(days=7)] = 800 * MB
    bursty[TODAY] = steady(800 * MB)[TODAY]
    even = card_forecast(card=card(), per_day=steady(800 * MB), now=NOW)

    forecast = card_forecast(card=card(), per_day=bursty, now=NOW)

    assert sum(bursty.values()) == sum(steady(800 * MB).values())
    assert forecast.daily_bytes == even.daily_bytes
    assert forecast.runs_out_at == even.runs_out_at


def test_a_burst_today_raises_the_pace_at_once():
    quiet = card_forecast(card=card(), per_day=steady(100 * MB), now=NOW)
    burst = steady(100 * MB)
    burst[TODAY] += 5 * GB  # a film downloaded this morning

    forecast = card_forecast(card=card(), per_day=burst, now=NOW)

    assert quiet.outlook == Outlook.LASTS
    assert forecast.outlook == Outlook.RUNS_OUT
    assert forecast.daily_bytes > 4 * quiet.daily_bytes


def test_light_use_lasts_until_the_plan_ends():
    forecast = card_forecast(card=card(), per_day=steady(300 * MB), now=NOW)

    assert forecast.outlook == Outlook.LASTS
    assert forecast.runs_out_at is None
    with translation.override("en"):
        assert words(forecast) == "At your pace (≈ 300 MB a day) your data lasts until your plan ends."


def test_zero_use_lasts_and_says_so():
    forecast = card_forecast(card=card(), per_day={}, now=NOW)

    assert forecast.outlook == Outlook.LASTS
    assert forecast.daily_bytes == 0
    with translation.override("en"):
        assert "used no data lately" in words(forecast)


def test_less_than_a_day_of_history_gives_no_forecast_and_says_so():
    fresh = card(period_started_at=NOW - MIN_HISTORY + timedelta(minutes=1))

    forecast = card_forecast(card=fresh, per_day={TODAY: 2 * GB}, now=NOW)

    assert forecast.outlook == Outlook.TOO_LITTLE_HISTORY
    with translation.override("en"):
        assert words(forecast) == (
            "A forecast of when your data runs out appears after a day of use on this plan."
        )


def test_days_before_the_period_started_do_not_count():
    # Renewed after an expiry on Sat 28 Nov at 18:00 Monaco: the days before it used nothing (no service).
    started = datetime(2026, 11, 28, 17, 0, tzinfo=UTC)
    usage = {date(2026, 11, 25): 5 * GB, date(2026, 11, 28): 250 * MB, date(2026, 11, 29): GB}
    usage.update({date(2026, 11, 30): GB, TODAY: 0})

    forecast = card_forecast(card=card(period_started_at=started), per_day=usage, now=NOW)

    observed_days = (NOW - started) / timedelta(days=1)  # 2 days 19 hours
    assert forecast.daily_bytes == int((2250 * MB) / observed_days)


def test_a_card_out_of_data_expired_suspended_or_never_used_has_nothing_to_forecast():
    for subject in (
        card(data_remaining=0),
        card(expires_at=NOW - timedelta(minutes=1)),
        card(suspended_at=NOW - timedelta(days=1)),
        card(expires_at=None, period_started_at=None),
    ):
        forecast = card_forecast(card=subject, per_day=steady(GB), now=NOW)
        assert forecast.outlook == Outlook.NONE
        assert words(forecast) == ""


def test_within_24_hours_is_the_alerts_trigger():
    soon = card_forecast(card=card(data_remaining=700 * MB), per_day=steady(800 * MB), now=NOW)
    later = card_forecast(card=card(data_remaining=900 * MB), per_day=steady(800 * MB), now=NOW)

    assert soon.runs_out_within(timedelta(hours=24), now=NOW)
    assert not later.runs_out_within(timedelta(hours=24), now=NOW)


def test_a_forecast_survives_a_notice_context_round_trip():
    forecast = card_forecast(card=card(), per_day=steady(800 * MB), now=NOW)

    assert forecast_from_context(forecast.as_context()) == forecast
    assert forecast_from_context({"outlook": "nonsense"}) is None
    assert forecast_from_context(None) is None


@pytest.mark.django_db
def test_the_pace_comes_from_usage_records_the_carrier_delivered(owner):
    subject = OwnedCardFactory(
        owner=owner,
        period_started_at=NOW - timedelta(days=10),
        period_allowance=10 * GB,
        data_remaining=9 * GB,
        expires_at=NOW + timedelta(days=5),
    )
    records = []
    for offset in range(1, 8):
        end = NOW - timedelta(days=offset)
        records.append(
            {
                "record_id": f"steady-{offset}",
                "iccid": subject.iccid,
                "start": (end - timedelta(hours=1)).isoformat(),
                "end": end.isoformat(),
                "bytes": 800 * MB,
            }
        )
    with time_machine.travel(NOW, tick=False):
        usage_records_apply(records=records, now=NOW)
        subject.refresh_from_db()
        per_day = usage_by_monaco_day(cards=[subject], now=NOW)[subject.pk]

    forecast = card_forecast(card=subject, per_day=per_day, now=NOW)

    assert forecast.daily_bytes == int(
        7 * 800 * MB / ((NOW - forecast_window_start(card=subject, now=NOW)) / timedelta(days=1))
    )


@pytest.mark.django_db
def test_the_dashboard_and_the_card_page_say_it_in_plain_words(client, owner):
    subject = OwnedCardFactory(
        owner=owner,
        period_started_at=NOW - timedelta(days=10),
        period_allowance=10 * GB,
        data_remaining=3 * GB,
        expires_at=NOW + timedelta(days=5),
    )
    entry = usage_entry(subject)
    UsageRecord.objects.bulk_create(
        UsageRecord(
            record_id=f"day-{offset}",
            card=subject,
            ledger_entry=entry,
            start=NOW - timedelta(days=offset),
            end=NOW - timedelta(days=offset) + timedelta(minutes=30),
            bytes=800 * MB,
        )
        for offset in range(1, 8)
    )
    client.force_login(owner)
    with time_machine.travel(NOW, tick=False):
        pages = [
            client.get(reverse("usage:dashboard")).content.decode(),
            client.get(reverse("usage:card_detail", args=[subject.pk])).content.decode(),
        ]

    for html in pages:
        html = html.replace("\xa0", " ")
        # 5.6 GB over 7 days and 13 hours; 3 GB last until Sat 13:58, shown as "around 13:00".
        assert (
            "At your pace (≈ 743 MB a day) your data runs out around Sat 5 Dec, 13:00 (Monaco time)" in html
        )
        assert 'data-forecast="runs_out"' in html


@pytest.mark.django_db
def test_the_forecast_costs_the_dashboard_no_query_however_many_cards(
    client, owner, django_assert_num_queries, django_assert_max_num_queries
):
    client.force_login(owner)
    OwnedCardFactory(owner=owner)
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("usage:dashboard"))
        assert response.content.decode().count("data-forecast=") == 1
        cache.clear()  # both counts cold: the per-day totals are cached per card
        with django_assert_max_num_queries(50) as one_card:
            client.get(reverse("usage:dashboard"))
        cards = OwnedCardFactory.create_batch(4, owner=owner)
        for subject in cards:
            entry = usage_entry(subject)
            UsageRecord.objects.create(
                record_id=f"r-{subject.pk}",
                card=subject,
                ledger_entry=entry,
                start=NOW - timedelta(hours=30),
                end=NOW - timedelta(hours=29),
                bytes=GB,
            )
        cache.clear()
        with django_assert_num_queries(len(one_card.captured_queries)):
            response = client.get(reverse("usage:dashboard"))

    assert response.content.decode().count("data-forecast=") == 5


def test_the_sentence_is_in_the_travellers_language(compiled_translations):
    forecast = card_forecast(card=card(), per_day=steady(800 * MB), now=NOW)

    with translation.override("zh-hans"):
        chinese = words(forecast)
    with translation.override("fr"):
        french = words(forecast)

    assert (
        chinese
        == "按您目前的用量（每天约 800 MB），流量约在 12月5日 星期六 07:00（摩纳哥时间）用完，比套餐到期早 1 日。"  # noqa: RUF001
    )
    assert french.startswith(
        "À votre rythme (≈ 800 Mo par jour), vos data seront épuisées vers sam 5 déc, 07:00"
    )
