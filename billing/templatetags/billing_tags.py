from datetime import datetime

from django import template

from billing import selectors
from billing.presenters import payment_method_label

register = template.Library()


@register.filter
def absolute(value: int | None) -> int | None:
    """{{ entry.amount_cents|absolute|money:currency }}: the sign is written by the template."""
    return abs(value) if value is not None else None


@register.filter
def iso_datetime(value: str | None) -> datetime | None:
    """Notice contexts are JSON, so times arrive as ISO text: {{ expires_at|iso_datetime|monaco }}."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None


@register.filter
def payment_method(value: str | None) -> str:
    return payment_method_label(value or "")


@register.simple_tag
def wallet_balance_cents(user) -> int:
    """{% wallet_balance_cents request.user as balance %}: the account credit, for pages of apps
    below billing (the dashboard), which never import it."""
    return selectors.wallet_balance_cents(user=user)
