from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from audit.services import audit_record, object_snapshot
from billing.models import Order
from notices.services import notice_send
from support.models import Ticket, TicketMessage
from usage.models import Card


class TicketClosedError(Exception):
    pass


class TicketLimitError(Exception):
    pass


# A traveller with a real problem writes once or twice an hour; more is a script or a stuck button.
TICKETS_PER_HOUR = 5


@transaction.atomic
def ticket_open(
    *, user: User, topic: str, body: str, card: Card | None = None, order: Order | None = None
) -> Ticket:
    if card is not None and card.owner_id != user.pk:
        raise PermissionError("A ticket can only be about the customer's own card.")
    if order is not None and order.customer_id != user.pk:
        raise PermissionError("A ticket can only be about the customer's own order.")
    now = timezone.now()
    recent = Ticket.objects.filter(user=user, created_at__gte=now - timedelta(hours=1)).count()
    if recent >= TICKETS_PER_HOUR:
        raise TicketLimitError(
            _("You have written to us several times in the last hour. We answer those first; reply there.")
        )
    ticket = Ticket.objects.create(
        user=user, topic=topic, card=card, order=order, created_at=now, updated_at=now
    )
    TicketMessage.objects.create(ticket=ticket, author=user, body=body, created_at=now)
    return ticket


@transaction.atomic
def ticket_reply(*, ticket: Ticket, user: User, body: str) -> TicketMessage:
    """The traveller writes again: the ticket goes back to support (and reopens if closed)."""
    if ticket.user_id != user.pk:
        raise PermissionError("Only the ticket's customer can reply to it.")
    now = timezone.now()
    message = TicketMessage.objects.create(ticket=ticket, author=user, body=body, created_at=now)
    Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.OPEN, updated_at=now)
    ticket.status, ticket.updated_at = Ticket.Status.OPEN, now
    return message


def ticket_answer(*, ticket: Ticket, staff_user: User, body: str) -> TicketMessage:
    """Support answers: the message joins the thread and reaches the traveller by email in their language."""
    if ticket.status == Ticket.Status.CLOSED:
        raise TicketClosedError(_("This ticket is closed; reopen it before answering."))
    now = timezone.now()
    with transaction.atomic():
        before = object_snapshot(ticket, ["status"])
        message = TicketMessage.objects.create(
            ticket=ticket, author=staff_user, from_support=True, body=body, created_at=now
        )
        Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.ANSWERED, updated_at=now)
        ticket.status, ticket.updated_at = Ticket.Status.ANSWERED, now
        audit_record(
            actor=staff_user,
            action="ticket_answer",
            obj=ticket,
            reason=body,
            before=before,
            after={"status": ticket.status, "message_id": message.pk},
        )
    notice_send(
        user=ticket.user,
        kind="ticket_answer",
        key=f"message:{message.pk}",
        context={"ticket_id": ticket.pk, "body": body},
    )
    return message
