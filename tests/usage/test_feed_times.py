"""The times a carrier sends, read by usage.feeds._parse_time: what is accepted and how.

`datetime.fromisoformat` (C) reads them; a hand-written fast path for the common shape measured
several times slower (bench/README.md, "Usage ingest"), so these cases pin the behaviour any
future shortcut must keep."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from usage.feeds import RecordInvalid, _parse_time


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2026-11-03T10:00:00Z", datetime(2026, 11, 3, 10, tzinfo=UTC)),
        ("2026-11-03T10:00:00+00:00", datetime(2026, 11, 3, 10, tzinfo=UTC)),
        ("2026-11-03T10:00:00-00:00", datetime(2026, 11, 3, 10, tzinfo=UTC)),
        ("2026-11-03T11:00:00+01:00", datetime(2026, 11, 3, 10, tzinfo=UTC)),
        ("2026-11-03T09:30:00-00:30", datetime(2026, 11, 3, 10, tzinfo=UTC)),
        ("2026-11-03T15:45:00+05:45", datetime(2026, 11, 3, 10, tzinfo=UTC)),
        ("2026-11-03T10:00:00.5Z", datetime(2026, 11, 3, 10, 0, 0, 500000, tzinfo=UTC)),
        ("2026-11-03T10:00:00.123+00:00", datetime(2026, 11, 3, 10, 0, 0, 123000, tzinfo=UTC)),
        ("2026-11-03T10:00:00.000001Z", datetime(2026, 11, 3, 10, 0, 0, 1, tzinfo=UTC)),
        ("2026-11-03T10:00:00.999999+00:00", datetime(2026, 11, 3, 10, 0, 0, 999999, tzinfo=UTC)),
        ("2026-11-03 10:00:00Z", datetime(2026, 11, 3, 10, tzinfo=UTC)),  # a space for the T
        ("  2026-11-03T10:00:00Z\n", datetime(2026, 11, 3, 10, tzinfo=UTC)),  # surrounding blanks
        ("2026-11-03T10:00Z", datetime(2026, 11, 3, 10, tzinfo=UTC)),  # no seconds
    ],
)
def test_an_iso_time_with_an_offset_is_read_as_its_instant(text, instant):
    parsed = _parse_time(text, "start")
    assert parsed == instant
    assert parsed.utcoffset() is not None


def test_the_offset_is_kept_as_sent():
    parsed = _parse_time("2026-11-03T11:00:00+01:00", "start")
    assert parsed.utcoffset() == timedelta(hours=1)
    assert _parse_time("2026-11-03T10:00:00Z", "start").tzinfo == UTC


def test_an_aware_datetime_is_taken_as_it_is():
    value = datetime(2026, 11, 3, 11, tzinfo=timezone(timedelta(hours=1)))
    assert _parse_time(value, "end") is value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-11-03T10:00:00", "start must carry a UTC offset (e.g. Z or +01:00)."),
        ("2026-11-03", "start must carry a UTC offset (e.g. Z or +01:00)."),
        (datetime(2026, 11, 3, 10), "start must carry a UTC offset (e.g. Z or +01:00)."),
        ("yesterday", "start is not an ISO 8601 time: 'yesterday'"),
        ("2026-11-03T25:00:00Z", "start is not an ISO 8601 time: '2026-11-03T25:00:00Z'"),
        ("2026-02-30T10:00:00Z", "start is not an ISO 8601 time: '2026-02-30T10:00:00Z'"),
        ("2026-11-03T10:00:00+24:00", "start is not an ISO 8601 time: '2026-11-03T10:00:00+24:00'"),
        ("", "start is not an ISO 8601 time: ''"),
        (1764756000, "start must be an ISO 8601 time with a UTC offset."),
        (None, "start must be an ISO 8601 time with a UTC offset."),
    ],
)
def test_a_naive_or_malformed_time_is_refused_with_its_reason(value, message):
    with pytest.raises(RecordInvalid) as refused:
        _parse_time(value, "start")
    assert refused.value.error == "invalid_start"
    assert refused.value.message == message
