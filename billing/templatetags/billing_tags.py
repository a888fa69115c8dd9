from datetime import datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.timesince import timeuntil
from django.utils.translation import gettext

from billing import selectors
from billing.models import Order, Withdrawal
from billing.presenters import PlanName, order_plan_name, payment_method_label
from billing.withdrawal import withdrawal_deadline, withdrawal_quote, withdrawal_refusal

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
def plan_name(order: Order) -> str:
    """{{ order|plan_name }} → the plan as sold, in the page's language ("一周畅游")."""
    return order_plan_name(order).text


@register.simple_tag
def plan_name_of(order: Order) -> PlanName:
    """{% plan_name_of order as name %}: {{ name.text }}, and {{ name.as_sold }} to say which it is."""
    return order_plan_name(order)


@register.filter
def payment_method(value: str | None) -> str:
    return payment_method_label(value or "")


@register.simple_tag
def wallet_balance_cents(user) -> int:
    """{% wallet_balance_cents request.user as balance %}: the account credit, for pages of apps
    below billing (the dashboard), which never import it."""
    return selectors.wallet_balance_cents(user=user)


@register.filter
def duration_text(value: timedelta | None) -> str:
    """ "6 days, 23 hours": a length of time, to two units; "none" when nothing is left."""
    if not value or value <= timedelta(0):
        return gettext("none")
    now = timezone.now()
    return timeuntil(now + value, now, depth=2)


@register.inclusion_tag("billing/_withdrawal_section.html")
def withdrawal_section(order: Order) -> dict:
    """The withdrawal function of an order (offered while it can refund something), or its record."""
    now = timezone.now()
    withdrawal = Withdrawal.objects.filter(order=order).first()
    deadline = None
    if (
        withdrawal is None
        and withdrawal_refusal(order=order, now=now) is None
        and withdrawal_quote(order=order, now=now).refund_cents > 0
    ):
        deadline = withdrawal_deadline(order=order)
    return {"order": order, "withdrawal": withdrawal, "withdrawal_deadline": deadline}
