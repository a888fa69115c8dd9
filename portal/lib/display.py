"""Display-only formatting for every page, message and admin: money, data amounts, Monaco time.

Templates use it through `{% load display %}` (portal/templatetags/display.py)."""

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import dateformat
from django.utils.formats import number_format
from django.utils.timesince import TIME_STRINGS, timesince, timeuntil
from django.utils.translation import get_language, gettext, pgettext

from portal.lib.units import BYTES_PER_GB, BYTES_PER_MB

CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "CHF": "CHF"}
# Languages that write the symbol after the amount ("4,90 €").
SYMBOL_AFTER = ("fr", "it", "de", "es")


def monaco_zone() -> ZoneInfo:
    return ZoneInfo(getattr(settings, "DISPLAY_TIME_ZONE", "Europe/Monaco"))


def format_money(cents: int, currency: str = "EUR") -> str:
    amount = (Decimal(cents) / 100).quantize(Decimal("0.01"))
    number = number_format(amount, decimal_pos=2, use_l10n=True, force_grouping=True)
    symbol = CURRENCY_SYMBOLS.get(currency.upper(), currency.upper())
    language = (get_language() or "en").split("-")[0]
    if language in SYMBOL_AFTER:
        return f"{number}\xa0{symbol}"
    return f"{symbol}{number}"


def gigabytes(byte_count: int) -> Decimal:
    return (Decimal(byte_count) / BYTES_PER_GB).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def format_gb(byte_count: int) -> str:
    return _format_gb(byte_count, get_language())


@lru_cache(maxsize=4096)
def _format_gb(byte_count: int, language: str | None) -> str:
    # Pure in its arguments (the language picks the catalogue and the number format), and every page
    # shows the same few amounts again and again: formatted once per process, not once per use.
    if 0 < byte_count < BYTES_PER_GB // 20:
        # "0.0 GB" would read as nothing left while there is still some.
        return gettext("less than %(amount)s GB") % {"amount": number_format(Decimal("0.1"), 1)}
    return gettext("%(amount)s GB") % {"amount": number_format(gigabytes(byte_count), 1)}


def format_monaco_datetime(value: datetime) -> str:
    """'3 Dec 2026, 14:05 (Monaco time, CET)': the zone is always named."""
    return _format_monaco_datetime(value, get_language(), monaco_zone())


@lru_cache(maxsize=4096)
def _format_monaco_datetime(value: datetime, language: str | None, zone: ZoneInfo) -> str:
    # A card's expiry is shown on every visit: formatted once per process and language.
    local = value.astimezone(zone)
    # Translators: a PHP-style date format (Django's date filter) for dates shown in Monaco time.
    pattern = pgettext("Monaco datetime format", "j M Y, H:i")
    return gettext("%(datetime)s (Monaco time, %(zone)s)") % {
        "datetime": dateformat.format(local, pattern),
        "zone": local.tzname(),
    }


class _UnitText:
    """One of Django's timesince units ("%(num)d day" / "%(num)d days") for `time_strings`: the words
    for a count in the active language, looked up once per process instead of through a lazy plural
    each time. timesince's output is unchanged."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __mod__(self, values: dict[str, int]) -> str:
        return _unit_text(self.name, values["num"], get_language())


@lru_cache(maxsize=2048)
def _unit_text(name: str, count: int, language: str | None) -> str:
    return str(TIME_STRINGS[name] % {"num": count})


TIME_STRINGS_ONCE = {name: _UnitText(name) for name in TIME_STRINGS}


def format_duration_since(value: datetime, now: datetime) -> str:
    """'35 minutes', as Django's timesince (two units), for 'Usage updated %(ago)s ago'."""
    return timesince(value, now, time_strings=TIME_STRINGS_ONCE)  # type: ignore[arg-type]


def format_relative(value: datetime, now: datetime) -> str:
    """'in 2 days, 4 hours' or '3 hours ago', to two units."""
    if value >= now:
        duration = timeuntil(value, now, depth=2, time_strings=TIME_STRINGS_ONCE)  # type: ignore[arg-type]
        return gettext("in %(duration)s") % {"duration": duration}
    duration = timesince(value, now, depth=2, time_strings=TIME_STRINGS_ONCE)  # type: ignore[arg-type]
    return gettext("%(duration)s ago") % {"duration": duration}


def format_data(byte_count: int, *, signed: bool = False) -> str:
    """Amounts in tables: MB under 1 GB (usage records are often a few MB), GB above."""
    sign = ""
    if signed and byte_count > 0:
        sign = "+"
    elif byte_count < 0:
        sign = "\u2212"  # minus sign, not a hyphen
    magnitude = abs(byte_count)
    if magnitude < BYTES_PER_GB:
        amount = gettext("%(amount)s MB") % {"amount": number_format(round(magnitude / BYTES_PER_MB), 0)}
    else:
        amount = gettext("%(amount)s GB") % {"amount": number_format(gigabytes(magnitude), 1)}
    return sign + amount


def format_monaco_compact(value: datetime) -> str:
    """'3 Dec 2026, 14:05 CET': for narrow table cells under a heading that says "Monaco time"."""
    local = value.astimezone(monaco_zone())
    pattern = pgettext("Monaco datetime format", "j M Y, H:i")
    return f"{dateformat.format(local, pattern)} {local.tzname()}"


def format_monaco_short(value: datetime) -> str:
    """'8 Dec 14:05 CET': a date within the next months, for a text message that must stay short."""
    local = value.astimezone(monaco_zone())
    return f"{format_day(local.date())} {dateformat.format(local, 'H:i')} {local.tzname()}"


def format_card_short(*, label: str, iccid: str) -> str:
    """The card in a text message: its name, or the last digits of its ICCID ('Card ending 000023')."""
    if label:
        return label[:20]
    return gettext("Card ending %(digits)s") % {"digits": iccid[-6:]}


def format_day(value: date, *, with_weekday: bool = False) -> str:
    """'1 Dec' or 'Tue 1 Dec'; translators set the order for their language (e.g. '12月1日')."""
    if with_weekday:
        # Translators: a PHP-style date format (Django's date filter): weekday, day and month.
        pattern = pgettext("weekday day month format", "D j M")
    else:
        # Translators: a PHP-style date format (Django's date filter): day and month.
        pattern = pgettext("day month format", "j M")
    return dateformat.format(value, pattern)


def format_monaco_weekday_time(value: datetime) -> str:
    """'Thu 4 Dec, 14:00 (Monaco time)': a moment in the next days, the weekday helps most."""
    return _format_monaco_weekday_time(value, get_language(), monaco_zone())


@lru_cache(maxsize=4096)
def _format_monaco_weekday_time(value: datetime, language: str | None, zone: ZoneInfo) -> str:
    local = value.astimezone(zone)
    # Translators: a PHP-style date format (Django's date filter): weekday, day, month and time.
    pattern = pgettext("weekday day month time format", "D j M, H:i")
    return gettext("%(datetime)s (Monaco time)") % {"datetime": dateformat.format(local, pattern)}


def format_monaco_weekday_clock(value: datetime) -> str:
    """'Thu 14:00': a moment within the next day, for a text message that must stay short."""
    local = value.astimezone(monaco_zone())
    # Translators: a PHP-style date format (Django's date filter): weekday and time, for SMS.
    return dateformat.format(local, pgettext("weekday time format", "D H:i"))
