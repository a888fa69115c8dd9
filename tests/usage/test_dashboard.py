import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from tests.usage.card_factories import GB, OwnedCardFactory, UsageRecordFactory, usage_entry
from usage.models import UsageRecord
from usage.selectors import dashboard_get

pytestmark = pytest.mark.django_db

# Tuesday 1 December 2026, 13:00 in Monaco (CET, UTC+1).
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def dashboard_html(client, user) -> str:
    client.force_login(user)
    response = client.get(reverse("usage:dashboard"))
    assert response.status_code == 200
    return response.content.decode().replace("\xa0", " ")


def test_an_active_card_shows_data_left_used_expiry_in_monaco_time_and_freshness(client, owner):
    OwnedCardFactory(
        owner=owner,
        period_allowance=5 * GB,
        data_remaining=1_240_000_000,
        expires_at=datetime(2026, 12, 3, 13, 5, tzinfo=UTC),
        usage_updated_at=NOW - timedelta(minutes=35),
    )

    html = dashboard_html(client, owner)

    assert ">Expiring soon<" in html  # within 72 hours
    assert "1.2 GB" in html  # left, one decimal
    assert "3.8 GB" in html  # used this period
    assert "3 Dec 2026, 14:05 (Monaco time, CET)" in html
    assert "in 2 days, 1 hour" in html
    assert "Usage updated 35 minutes ago" in html
    assert 'href="/plans/?card=' in html
    assert ">Renew<" in html


def test_summer_expiry_is_named_cest(client, owner):
    OwnedCardFactory(owner=owner, expires_at=datetime(2027, 7, 14, 20, 0, tzinfo=UTC))

    assert "14 Jul 2027, 22:00 (Monaco time, CEST)" in dashboard_html(client, owner)


def test_a_card_past_expiry_shows_expired_and_no_data_before_the_sweep_has_run(client, owner):
    card = OwnedCardFactory(owner=owner, data_remaining=2 * GB, expires_at=NOW - timedelta(hours=3))
    assert card.data_remaining == 2 * GB  # the sweep has not forfeited it yet

    html = dashboard_html(client, owner)

    assert ">Expired<" in html
    assert ">Active<" not in html
    assert "0.0 GB" in html
    assert "2.0 GB" not in html
    assert "3 hours ago" in html
    assert "Unused data was forfeited when the card expired." in html


def test_a_card_expiring_in_more_than_72_hours_is_simply_active(client, owner):
    OwnedCardFactory(owner=owner, expires_at=NOW + timedelta(days=10))

    html = dashboard_html(client, owner)

    assert ">Active<" in html
    assert "in 1 week, 3 days" in html


def test_a_card_never_activated_says_how_to_start(client, owner):
    OwnedCardFactory(
        owner=owner, expires_at=None, period_allowance=0, data_remaining=0, usage_updated_at=None
    )

    html = dashboard_html(client, owner)

    assert ">Not activated yet<" in html
    assert "Not started: choose a plan to activate this card." in html
    assert "No usage reported yet" in html
    assert ">Choose a plan<" in html
    assert ">Renew<" not in html
    assert "No data used in the last 14 days." in html
    assert "<svg viewBox" not in html


def test_the_gauge_is_a_labelled_meter(client, owner):
    OwnedCardFactory(owner=owner, period_allowance=5 * GB, data_remaining=1 * GB)

    html = dashboard_html(client, owner)

    assert f'max="{5 * GB}"' in html
    assert f'value="{1 * GB}"' in html
    assert 'aria-valuetext="1.0 GB of 5.0 GB left"' in html
    assert "20 %" in html


def test_the_account_balance_shows_zero_euros_without_a_wallet(client, owner):
    OwnedCardFactory(owner=owner)
    assert "€0.00" in dashboard_html(client, owner)


def test_a_customer_without_a_card_is_offered_to_claim_one_or_buy_an_esim(client, owner):
    html = dashboard_html(client, owner)

    assert "No data card yet" in html
    assert reverse("usage:card_claim") in html
    assert "/plans/?card=new" in html
    assert "Buy a plan with a new eSIM" in html


def test_the_dashboard_shows_only_my_cards(client, owner, outsider):
    OwnedCardFactory(owner=owner, iccid="89377000000000000018")
    OwnedCardFactory(owner=outsider, iccid="89377000000000000026")

    html = dashboard_html(client, owner)

    assert "000018" in html
    assert "000026" not in html


def test_usage_is_added_up_by_monaco_calendar_day(owner):
    card = OwnedCardFactory(owner=owner)
    # 23:30 UTC on 30 November is already 1 December in Monaco.
    UsageRecordFactory(card=card, start=datetime(2026, 11, 30, 23, 30, tzinfo=UTC), bytes=300_000_000)
    UsageRecordFactory(card=card, start=datetime(2026, 12, 1, 9, 0, tzinfo=UTC), bytes=200_000_000)
    UsageRecordFactory(card=card, start=datetime(2026, 11, 30, 22, 30, tzinfo=UTC), bytes=70_000_000)
    # Older than 14 Monaco days: not in the chart.
    UsageRecordFactory(card=card, start=datetime(2026, 11, 17, 22, 59, tzinfo=UTC), bytes=999_000_000)

    chart = dashboard_get(user=owner, now=NOW).chart

    by_day = {item.day.isoformat(): item.bytes for item in chart.days}
    assert len(chart.days) == 14
    assert chart.days[0].day.isoformat() == "2026-11-18"
    assert by_day["2026-12-01"] == 500_000_000
    assert by_day["2026-11-30"] == 70_000_000
    assert chart.total == 570_000_000


def test_the_chart_is_svg_with_a_table_alternative(client, owner):
    card = OwnedCardFactory(owner=owner)
    UsageRecordFactory(card=card, start=datetime(2026, 12, 1, 9, 0, tzinfo=UTC), bytes=1_500_000_000)

    html = dashboard_html(client, owner)

    assert 'role="img"' in html
    assert "Daily data use over the last 14 days" in html
    assert "<table" in html
    assert "Tue 1 Dec" in html
    assert "1.5 GB" in html


def test_the_page_is_in_the_customers_language(client, owner):
    owner.language = "fr"
    owner.save()
    OwnedCardFactory(owner=owner, expires_at=datetime(2026, 12, 3, 13, 5, tzinfo=UTC))

    html = dashboard_html(client, owner)

    assert '<html lang="fr"' in html
    assert "0,00 €" in html


def test_query_count_stays_constant_with_three_cards_and_ten_thousand_usage_records(
    client, owner, django_assert_max_num_queries
):
    client.force_login(owner)
    with django_assert_max_num_queries(12) as small:
        client.get(reverse("usage:dashboard"))
    cards = OwnedCardFactory.create_batch(3, owner=owner)
    entries = [usage_entry(card) for card in cards]
    UsageRecord.objects.bulk_create(
        UsageRecord(
            record_id=f"bulk-{n}",
            card=cards[n % 3],
            ledger_entry=entries[n % 3],
            start=NOW - timedelta(minutes=2 * n),
            end=NOW - timedelta(minutes=2 * n - 1),
            bytes=1_000_000,
        )
        for n in range(10_000)
    )

    # Session, user, cards, one grouped usage sum, wallet: nothing per card or per record.
    with django_assert_max_num_queries(min(len(small.captured_queries) + 1, 8)):
        response = client.get(reverse("usage:dashboard"))

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count(">Renew<") == 3


def test_the_account_balance_shows_the_wallet_credit(client, owner):
    from billing.models import Wallet

    Wallet.objects.create(user=owner, balance_cents=1250)

    assert "€12.50" in dashboard_html(client, owner)


def test_the_chart_shows_new_usage_as_soon_as_the_carrier_feed_delivers_it(client, owner):
    from usage.feeds import usage_records_apply

    card = OwnedCardFactory(
        owner=owner, expires_at=NOW + timedelta(days=5), period_started_at=NOW - timedelta(days=2)
    )
    assert "0.7 GB used since" not in dashboard_html(client, owner)

    usage_records_apply(
        records=[
            {
                "record_id": "cdr-1",
                "iccid": card.iccid,
                "start": (NOW - timedelta(hours=2)).isoformat(),
                "end": (NOW - timedelta(hours=1)).isoformat(),
                "bytes": 700_000_000,
            }
        ],
        now=NOW,
    )

    html = dashboard_html(client, owner)
    assert "0.7 GB used since" in html
    assert "Usage updated 0 minutes ago" in html


def test_a_suspended_card_says_so_and_points_to_support(client, owner):
    OwnedCardFactory(owner=owner, suspended_at=NOW - timedelta(hours=1))

    html = dashboard_html(client, owner)

    assert ">Suspended<" in html
    assert "This card is suspended. Please contact support." in html


def test_a_second_visit_reads_the_usage_days_and_the_chart_in_one_cache_read(client, owner):
    from unittest import mock

    from django.core.cache import cache
    from django.templatetags.cache import CacheNode

    for number in range(3):
        card = OwnedCardFactory(owner=owner)
        UsageRecordFactory(
            card=card, start=NOW - timedelta(hours=number + 2), bytes=(number + 1) * 100_000_000
        )
    first = dashboard_html(client, owner)

    with (
        mock.patch.object(cache, "get_many", wraps=cache.get_many) as get_many,
        mock.patch.object(CacheNode, "render", autospec=True, side_effect=CacheNode.render) as cache_tag,
    ):
        second = dashboard_html(client, owner)

    def without_token(html: str) -> str:
        return " ".join(re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html).split())

    assert without_token(second) == without_token(first)  # the chart as drawn the first time
    assert "0.6 GB used since" in second
    assert get_many.call_count == 1  # the usage days and the chart's fragment
    # The header's and footer's fragments (in process memory); the chart's came with the usage days.
    assert "usage_chart" not in str([call.args[0].fragment_name for call in cache_tag.call_args_list])
