"""Filters for alert notices, whose context is stored as JSON (times arrive as ISO 8601 text)."""

from datetime import datetime

from django import template

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
