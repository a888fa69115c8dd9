from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import User
from support.models import Ticket


def tickets_for_user(*, user: User) -> QuerySet[Ticket]:
    return Ticket.objects.filter(user=user).select_related("card", "order")


def ticket_for_user_or_404(*, user: User, ticket_id: int) -> Ticket:
    return get_object_or_404(tickets_for_user(user=user), pk=ticket_id)
