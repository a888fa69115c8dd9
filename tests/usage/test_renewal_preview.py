"""The renewal shown before paying (plans page, checkout quote) follows DOMAIN.md "Renewal"."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from usage.selectors import card_renewal_preview

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


def card(*, expires_at, data_remaining):
    return SimpleNamespace(expires_at=expires_at, data_remaining=data_remaining)


def test_an_active_card_keeps_its_data_and_time_and_gets_the_plan_on_top():
    preview = card_renewal_preview(
        card=card(expires_at=NOW + timedelta(days=2), data_remaining=300),
        duration=WEEK,
        add_bytes=1000,
        start=NOW,
    )
    assert preview.carries_over is True
    assert (preview.data_kept, preview.data_after) == (300, 1300)
    assert preview.expires_after == NOW + timedelta(days=9)


def test_an_expired_card_starts_a_new_period_now_with_only_the_plans_data():
    preview = card_renewal_preview(
        card=card(expires_at=NOW - timedelta(hours=1), data_remaining=300),
        duration=WEEK,
        add_bytes=1000,
        start=NOW,
    )
    assert preview.carries_over is False
    assert (preview.data_kept, preview.data_after) == (0, 1000)
    assert preview.expires_after == NOW + WEEK


def test_a_card_never_used_or_a_new_esim_starts_now():
    for unused in (card(expires_at=None, data_remaining=0), None):
        preview = card_renewal_preview(card=unused, duration=WEEK, add_bytes=1000, start=NOW)
        assert (preview.carries_over, preview.data_after, preview.expires_after) == (False, 1000, NOW + WEEK)
