"""Filters for alert notices, whose context is stored as JSON (times arrive as ISO 8601 text)."""

from datetime import datetime

from django import template

from usage import forecast as usage_forecast

register = template.Library()


@register.filter
def isotime(value: str | datetime | None) -> datetime | None:
    """{{ expires_at|isotime|monaco }}: ISO 8601 text back to an aware datetime."""
    if value is None or isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


@register.filter
def forecast_sentence(value: dict | None) -> str:
    """{{ forecast|forecast_sentence }}: the forecast stored in a notice's context, in plain words."""
    return usage_forecast.forecast_sentence(usage_forecast.forecast_from_context(value))


@register.filter
def forecast_runs_out_around(value: dict | None) -> datetime | None:
    """{{ forecast|forecast_runs_out_around|monaco_weekday }}: about when the data runs out at this pace."""
    forecast = usage_forecast.forecast_from_context(value)
    return forecast.runs_out_around if forecast else None
