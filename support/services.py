import json
from datetime import timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from support.models import AuditEntry, Ticket, TicketMessage


class TicketClosedError(Exception):
    pass


class TicketLimitError(Exception):
    pass


# A traveller with a real problem writes once or twice an hour; more is a script or a stuck button.
TICKETS_PER_HOUR = 5


# Never copied into the trail: a hash is still a secret.
SECRET_FIELDS = {"password", "claim_code_hash"}


def _jsonable(value: Any) -> Any:
    """Dates, decimals and UUIDs as Django's JSON encoder writes them, so JSONField accepts them."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def object_snapshot(obj: models.Model, fields: list[str] | None = None) -> dict[str, Any]:
    """The concrete field values of one row (foreign keys by id), for before/after in the trail."""
    snapshot = {}
    for field in obj._meta.concrete_fields:
        if field.name in SECRET_FIELDS:
            continue
        if fields is not None and field.name not in fields and field.attname not in fields:
            continue
        snapshot[field.attname] = field.value_from_object(obj)
    return _jsonable(snapshot)


def audit_record(
    *,
    actor,
    action: str,
    obj: models.Model,
    reason: str = "",
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEntry:
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        actor_label=str(actor) if actor is not None else "",
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_label=str(obj)[:200],
        reason=reason,
        before=_jsonable(before),
        after=_jsonable(after),
    )


@transaction.atomic
def ticket_open(*, user, topic: str, body: str, card=None, order=None) -> Ticket:
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
def ticket_reply(*, ticket: Ticket, user, body: str) -> TicketMessage:
    """The traveller writes again: the ticket goes back to support (and reopens if closed)."""
    if ticket.user_id != user.pk:
        raise PermissionError("Only the ticket's customer can reply to it.")
    now = timezone.now()
    message = TicketMessage.objects.create(ticket=ticket, author=user, body=body, created_at=now)
    Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.OPEN, updated_at=now)
    ticket.status, ticket.updated_at = Ticket.Status.OPEN, now
    return message


def ticket_answer(*, ticket: Ticket, staff_user, body: str) -> TicketMessage:
    """Support answers: the message joins the thread and reaches the traveller by email in their language."""
    from notices.services import notice_send

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
