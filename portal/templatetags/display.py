from datetime import date, datetime

from django import template
from django.utils import timezone

from portal.lib.display import (
    format_card_short,
    format_data,
    format_day,
    format_gb,
    format_monaco_compact,
    format_monaco_datetime,
    format_monaco_short,
    format_monaco_weekday_clock,
    format_monaco_weekday_time,
    format_money,
    format_relative,
)

register = template.Library()


@register.filter
def money(cents: int | None, currency: str = "EUR") -> str:
    """{{ plan.price_cents|money:plan.currency }} → '€14.90' / '14,90 €'."""
    if cents is None:
        return ""
    return format_money(cents, currency)


@register.filter
def gb(byte_count: int | None) -> str:
    """{{ card.data_remaining|gb }} → '1.2 GB'."""
    if byte_count is None:
        return ""
    return format_gb(byte_count)


@register.filter
def monaco(value: datetime | None) -> str:
    """{{ card.expires_at|monaco }} → '3 Dec 2026, 14:05 (Monaco time, CET)'."""
    if value is None:
        return ""
    return format_monaco_datetime(value)


@register.filter
def monaco_short(value: datetime | None) -> str:
    """{{ expires_at|iso_datetime|monaco_short }} → '8 Dec 14:05 CET' (text messages)."""
    if value is None:
        return ""
    return format_monaco_short(value)


@register.filter
def card_short(label: str | None, iccid: str | None) -> str:
    """{{ card_label|card_short:iccid }} → 'Anna's phone' or 'Card ending 000023' (text messages)."""
    return format_card_short(label=label or "", iccid=iccid or "")


@register.filter
def relative(value: datetime | None, now: datetime | None = None) -> str:
    """{{ card.expires_at|relative:now }} → 'in 2 days, 4 hours'."""
    if value is None:
        return ""
    return format_relative(value, now or timezone.now())


@register.filter
def data(byte_count: int | None, signed: bool = False) -> str:
    """{{ record.bytes|data }} → '35 MB'; {{ entry.data_delta|data:True }} → '+5.0 GB'."""
    if byte_count is None:
        return ""
    return format_data(byte_count, signed=signed)


@register.filter
def monaco_compact(value: datetime | None) -> str:
    """{{ preview.expires_after|monaco_compact }} → '3 Dec 2026, 14:05 CET' (heading names Monaco time)."""
    if value is None:
        return ""
    return format_monaco_compact(value)


@register.filter
def day(value: date | None, with_weekday: bool = False) -> str:
    """{{ item.day|day }} → '1 Dec'; {{ item.day|day:True }} → 'Tue 1 Dec'."""
    if value is None:
        return ""
    return format_day(value, with_weekday=with_weekday)


@register.filter
def monaco_weekday(value: datetime | None) -> str:
    """{{ moment|monaco_weekday }} → 'Thu 4 Dec, 14:00 (Monaco time)'."""
    if value is None:
        return ""
    return format_monaco_weekday_time(value)


@register.filter
def monaco_weekday_clock(value: datetime | None) -> str:
    """{{ moment|monaco_weekday_clock }} → 'Thu 14:00' (in SMS, where every character counts)."""
    if value is None:
        return ""
    return format_monaco_weekday_clock(value)
