"""Staff actions on cards from the admin: each locks the card, makes one ledger change and writes
the audit trail in the same transaction. Admin views never call the ledger directly."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from audit.services import StaffActionError, audit_record, object_snapshot, staff_action_refuse_own_account
from usage import ledger
from usage.models import Card, LedgerEntry, ProvisioningEvent
from usage.provisioning import ProvisioningRequeueRefused, provisioning_event_requeue

CARD_FIELDS = ["data_remaining", "expires_at", "suspended_at", "period_allowance"]


def _locked_card(card: Card) -> Card:
    return Card.objects.select_for_update().get(pk=card.pk)


def _staff_card_change(
    *,
    actor: AbstractBaseUser,
    card: Card,
    action: str,
    reason: str,
    change: Callable[..., LedgerEntry],
    **arguments: Any,
) -> Card:
    """Lock the card, make one ledger change through `change`, and audit it with before/after."""
    staff_action_refuse_own_account(actor=actor, customer_id=card.owner_id)
    now = timezone.now()
    card = _locked_card(card)
    before = object_snapshot(card, CARD_FIELDS)
    try:
        entry = change(card=card, staff_user=actor, reason=reason, now=now, **arguments)
    except ledger.LedgerError as error:
        raise StaffActionError(str(error)) from error
    audit_record(
        actor=actor,
        action=action,
        obj=card,
        reason=reason,
        before=before,
        after={**object_snapshot(card, CARD_FIELDS), "ledger_entry_id": entry.pk},
    )
    return card


@transaction.atomic
def staff_card_adjust(
    *, actor: AbstractBaseUser, card: Card, data_delta: int, expires_at: datetime | None, reason: str
) -> Card:
    return _staff_card_change(
        actor=actor,
        card=card,
        action="card_adjust",
        reason=reason,
        change=ledger.card_adjust,
        data_delta=data_delta,
        expires_at=expires_at,
    )


@transaction.atomic
def staff_card_suspend(*, actor: AbstractBaseUser, card: Card, reason: str) -> Card:
    return _staff_card_change(
        actor=actor, card=card, action="card_suspend", reason=reason, change=ledger.card_suspend
    )


@transaction.atomic
def staff_card_resume(*, actor: AbstractBaseUser, card: Card, reason: str) -> Card:
    return _staff_card_change(
        actor=actor, card=card, action="card_resume", reason=reason, change=ledger.card_resume
    )


EVENT_FIELDS = ["state", "attempts", "last_error", "next_attempt_at", "sent_at"]


@transaction.atomic
def staff_provisioning_event_resend(
    *, actor: AbstractBaseUser, event: ProvisioningEvent, reason: str
) -> ProvisioningEvent:
    """Send an event the carrier never acknowledged again (it failed for good, or was recorded
    before a carrier address was set), from a fresh backoff, and audit it."""
    event = ProvisioningEvent.objects.select_for_update().select_related("card").get(pk=event.pk)
    staff_action_refuse_own_account(actor=actor, customer_id=event.card.owner_id)
    before = object_snapshot(event, EVENT_FIELDS)
    try:
        provisioning_event_requeue(event=event, now=timezone.now())
    except ProvisioningRequeueRefused as error:
        raise StaffActionError(str(error)) from error
    event.refresh_from_db()
    audit_record(
        actor=actor,
        action="provisioning_event_resend",
        obj=event,
        reason=reason,
        before=before,
        after=object_snapshot(event, EVENT_FIELDS),
    )
    return event
