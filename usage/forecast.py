"""The usage forecast: at the card's recent pace, when does its data run out? The rule lives here.

Pace = the data the network reported over the observed window / the window's length, where the
window runs from the later of (Monaco midnight 7 days before today) and the start of the current
validity period, up to now. Today's partial day counts for the hours it has had, and the first
day of a period that started at 18:00 for its six hours: the per-day totals are weighted by time,
not counted as whole days. Days before the period are left out (a card that was expired used
nothing because it could not). The carrier reports usage hours late, which makes the pace a
little low on the last day; over a week that is a few percent, and the 75 %/90 % alerts still
follow the real balance.

Too little history (less than MIN_HISTORY observed) gives no forecast, and the page says so.
The dashboard, the card page, the alerts and auto-renew all call `card_forecast`; it takes the
per-day totals the dashboard already loads for its chart, so it costs no query of its own.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils.timesince import timeuntil
from django.utils.translation import gettext

from portal.lib.display import format_data, format_monaco_weekday_time, monaco_zone
from usage.models import Card

FORECAST_WINDOW_DAYS = 7
MIN_HISTORY = timedelta(hours=24)
# "At this pace your data runs out within 24 h, before your plan ends": the alert, and auto-renew's
# optional trigger.
RUNOUT_SOON = timedelta(hours=24)
DAY = timedelta(days=1)
MICROSECOND = timedelta(microseconds=1)


class Outlook:
    NONE = "none"  # nothing to forecast: not active, suspended, or no data left
    TOO_LITTLE_HISTORY = "too_little_history"
    LASTS = "lasts"  # at this pace the data lasts until the plan ends (zero usage included)
    RUNS_OUT = "runs_out"  # at this pace the data runs out before the plan ends


@dataclass(frozen=True)
class UsageForecast:
    outlook: str
    daily_bytes: int = 0
    runs_out_at: datetime | None = None
    expires_at: datetime | None = None

    @property
    def runs_out_around(self) -> datetime | None:
        """Rounded down to the hour for people: "around 14:00" reads better than "around 14:37"."""
        if self.runs_out_at is None:
            return None
        return self.runs_out_at.astimezone(monaco_zone()).replace(minute=0)

    @property
    def runs_out(self) -> bool:
        return self.outlook == Outlook.RUNS_OUT

    def runs_out_within(self, window: timedelta, *, now: datetime) -> bool:
        return self.runs_out and self.runs_out_at is not None and self.runs_out_at - now <= window

    def as_context(self) -> dict:
        """For a notice's JSON context; `forecast_from_context` reads it back in the worker."""
        return {
            "outlook": self.outlook,
            "daily_bytes": self.daily_bytes,
            "runs_out_at": self.runs_out_at.isoformat() if self.runs_out_at else None,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }


def forecast_from_context(value: dict | None) -> UsageForecast | None:
    if not isinstance(value, dict) or value.get("outlook") not in (
        Outlook.NONE,
        Outlook.TOO_LITTLE_HISTORY,
        Outlook.LASTS,
        Outlook.RUNS_OUT,
    ):
        return None

    def moment(key: str) -> datetime | None:
        try:
            return datetime.fromisoformat(value[key]) if value.get(key) else None
        except (TypeError, ValueError):
            return None

    return UsageForecast(
        outlook=value["outlook"],
        daily_bytes=int(value.get("daily_bytes") or 0),
        runs_out_at=moment("runs_out_at"),
        expires_at=moment("expires_at"),
    )


def forecast_window_start(*, card: Card, now: datetime) -> datetime:
    today = now.astimezone(monaco_zone()).date()
    midnight = datetime.combine(
        today - timedelta(days=FORECAST_WINDOW_DAYS), datetime.min.time(), tzinfo=monaco_zone()
    )
    if card.period_started_at is not None and card.period_started_at > midnight:
        return card.period_started_at
    return midnight


def card_forecast(*, card: Card, per_day: dict[date, int], now: datetime) -> UsageForecast:
    """The forecast for `card` at `now`, from its usage per Monaco day (usage.selectors)."""
    remaining = card.data_remaining_at(now)
    if (
        not card.is_active_at(now)
        or card.period_started_at is None
        or card.expires_at is None
        or remaining <= 0
    ):
        return UsageForecast(outlook=Outlook.NONE, expires_at=card.expires_at)
    start = forecast_window_start(card=card, now=now)
    observed = now - start
    if observed < MIN_HISTORY:
        return UsageForecast(outlook=Outlook.TOO_LITTLE_HISTORY, expires_at=card.expires_at)
    first_day = start.astimezone(monaco_zone()).date()
    today = now.astimezone(monaco_zone()).date()
    used = sum(total for day, total in per_day.items() if first_day <= day <= today)
    # Integer arithmetic: byte counts times a timedelta overflow C ints.
    daily = used * (DAY // MICROSECOND) // (observed // MICROSECOND)
    if daily <= 0:
        return UsageForecast(outlook=Outlook.LASTS, daily_bytes=0, expires_at=card.expires_at)
    # To the minute, earlier rather than later: better warned a few seconds early than late.
    runs_out_at = now + timedelta(seconds=remaining * 86400 // daily)
    runs_out_at = runs_out_at.replace(second=0, microsecond=0)
    if runs_out_at >= card.expires_at:
        return UsageForecast(outlook=Outlook.LASTS, daily_bytes=daily, expires_at=card.expires_at)
    return UsageForecast(
        outlook=Outlook.RUNS_OUT, daily_bytes=daily, runs_out_at=runs_out_at, expires_at=card.expires_at
    )


def _pace(daily_bytes: int) -> str:
    # A number never breaks from its unit on a phone.
    return format_data(daily_bytes).replace(" ", "\u00a0")


def forecast_sentence(forecast: UsageForecast | None) -> str:
    """The forecast in plain words, in the active language; empty when there is nothing to say."""
    if forecast is None or forecast.outlook == Outlook.NONE:
        return ""
    if forecast.outlook == Outlook.TOO_LITTLE_HISTORY:
        return gettext("A forecast of when your data runs out appears after a day of use on this plan.")
    if forecast.outlook == Outlook.LASTS:
        if forecast.daily_bytes == 0:
            return gettext("You have used no data lately: at this pace your data lasts until your plan ends.")
        return gettext("At your pace (≈ %(pace)s a day) your data lasts until your plan ends.") % {
            "pace": _pace(forecast.daily_bytes)
        }
    if forecast.runs_out_around is None or forecast.runs_out_at is None or forecast.expires_at is None:
        return ""  # a RUNS_OUT forecast always has all three (card_forecast)
    return gettext(
        "At your pace (≈ %(pace)s a day) your data runs out around %(when)s, %(margin)s before your plan ends."
    ) % {
        "pace": _pace(forecast.daily_bytes),
        "when": format_monaco_weekday_time(forecast.runs_out_around),
        "margin": timeuntil(forecast.expires_at, forecast.runs_out_at, depth=1),
    }
