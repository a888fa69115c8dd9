from datetime import timedelta

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext

from billing.models import Order
from support.models import Ticket
from usage.display import format_monaco_datetime

STUCK_AFTER = timedelta(hours=24)


def tickets_for_user(*, user) -> QuerySet[Ticket]:
    return Ticket.objects.filter(user=user).select_related("card", "order")


def ticket_for_user_or_404(*, user, ticket_id: int) -> Ticket:
    return get_object_or_404(tickets_for_user(user=user), pk=ticket_id)


def order_renewal_state(order: Order, *, for_traveller: bool = False) -> str:
    """In one line: has the card been renewed for this order?"""
    now = timezone.now()
    if order.status == Order.Status.FULFILLED:
        card = order.card
        if card is not None and card.expires_at:
            return gettext("Renewed %(when)s; card valid until %(expiry)s") % {
                "when": format_monaco_datetime(order.fulfilled_at) if order.fulfilled_at else "",
                "expiry": format_monaco_datetime(card.expires_at),
            }
        return gettext("Renewed")
    if order.status == Order.Status.PAID:
        waited = now - (order.paid_at or now)
        if waited > STUCK_AFTER:
            if for_traveller:
                return gettext("Payment received; the renewal has not been applied yet. Support is on it.")
            return gettext("Paid but NOT renewed for over 24 hours")
        return gettext("Paid, renewal in progress")
    return order.get_status_display()
