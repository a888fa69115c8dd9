"""Provisioning out: what the network must enforce, sent to the carrier once per ledger entry.

The carrier acknowledges an event with any 2xx answer and ignores a repeated `ledger_entry_id`,
so sending twice is harmless; claiming each attempt with a conditional UPDATE keeps it rare.
"""

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext

from usage.models import Card, LedgerEntry, ProvisioningEvent

logger = logging.getLogger(__name__)

State = ProvisioningEvent.State

TIMESTAMP_HEADER = "X-Portal-Timestamp"
SIGNATURE_HEADER = "X-Portal-Signature"
# Backoff: 30 s, 1 min, 2 min ... capped at 1 h; about two days of trying before giving up.
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
MAX_ATTEMPTS = 56
# A claimed attempt that has not finished by then (worker died) may be claimed again.
SEND_LEASE = timedelta(minutes=2)
REQUEST_TIMEOUT_SECONDS = 10
# Not acknowledged by then: the order is flagged for support and the traveller told what is happening.
CONFIRMATION_BOUND = timedelta(minutes=10)


def carrier_time(value: datetime | None) -> str | None:
    """UTC to the second, the same text whether built here or by the set-based sweep in SQL."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# The event the carrier receives, field by field. It is built in two places that must agree: here
# for one entry, and in SQL by the expiry sweep (usage.ledger.cards_expire), which writes thousands
# of events in one statement; both take their fields from this list.
PAYLOAD_FIELDS = (
    "ledger_entry_id",
    "iccid",
    "kind",
    "data_remaining",
    "expires_at",
    "suspended",
    "occurred_at",
)


def provisioning_payload(*, entry: LedgerEntry, card: Card) -> dict:
    values = {
        "ledger_entry_id": entry.id,
        "iccid": card.iccid,
        "kind": entry.kind,
        "data_remaining": entry.data_after,
        "expires_at": carrier_time(entry.expires_after),
        "suspended": card.suspended_at is not None,
        "occurred_at": carrier_time(entry.created_at),
    }
    return {name: values[name] for name in PAYLOAD_FIELDS}


def provisioning_payload_sql(*, postgresql: bool, entry: str, card: str, occurred_at: str) -> str:
    """`provisioning_payload` as a JSON expression: `entry` and `card` are the aliases of a ledger
    row and its card row, `occurred_at` the placeholder of carrier_time(the entry's created_at)."""
    if postgresql:
        values = {
            "expires_at": f"to_char({entry}.expires_after AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
            "suspended": f"{card}.suspended_at IS NOT NULL",
            "occurred_at": f"{occurred_at}::text",
        }
    else:
        values = {
            "expires_at": f"strftime('%%Y-%%m-%%dT%%H:%%M:%%SZ', {entry}.expires_after)",
            "suspended": f"json(CASE WHEN {card}.suspended_at IS NULL THEN 'false' ELSE 'true' END)",
            "occurred_at": occurred_at,
        }
    values |= {
        "ledger_entry_id": f"{entry}.id",
        "iccid": f"{card}.iccid",
        "kind": f"{entry}.kind",
        "data_remaining": f"{entry}.data_after",
    }
    pairs = ", ".join(f"'{name}', {values[name]}" for name in PAYLOAD_FIELDS)
    return f"{'jsonb_build_object' if postgresql else 'json_object'}({pairs})"


def initial_state() -> str:
    return State.PENDING if settings.CARRIER_PROVISIONING_URL else State.NOT_SENT


def provisioning_event_record(*, entry: LedgerEntry, card: Card, now: datetime) -> ProvisioningEvent:
    """Record the event and have a worker send it once the ledger entry is committed."""
    event = ProvisioningEvent.objects.create(
        ledger_entry=entry,
        card=card,
        payload=provisioning_payload(entry=entry, card=card),
        state=initial_state(),
        created_at=now,
    )
    if event.state == State.PENDING:
        from usage.tasks import provisioning_event_send  # tasks import this module

        transaction.on_commit(lambda: provisioning_event_send.delay(event.id, 0))
    return event


def sign(*, body: bytes, timestamp: str, secret: str) -> str:
    message = timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def retry_delay(attempts: int) -> timedelta:
    """Wait before the attempt after `attempts` failed ones."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_RETRY)


@dataclass(frozen=True)
class DeliveryOutcome:
    claimed: bool
    state: str = ""
    attempts: int = 0
    retry_in: timedelta | None = None


def provisioning_event_claim(*, event_id: int, attempts_seen: int, now: datetime) -> bool:
    """Take attempt number `attempts_seen + 1`; two workers holding the same message never both win."""
    claimed = ProvisioningEvent.objects.filter(
        id=event_id, attempts=attempts_seen, state__in=[State.PENDING, State.RETRYING]
    ).update(
        attempts=F("attempts") + 1,
        next_attempt_at=now + SEND_LEASE,
        first_attempted_at=Coalesce(F("first_attempted_at"), Value(now)),
    )
    return claimed == 1


def provisioning_event_deliver(*, event_id: int, attempts_seen: int, now: datetime) -> DeliveryOutcome:
    """One attempt to POST the event; records the outcome and when to try again."""
    if not provisioning_event_claim(event_id=event_id, attempts_seen=attempts_seen, now=now):
        return DeliveryOutcome(claimed=False)
    event = ProvisioningEvent.objects.get(id=event_id)
    url = settings.CARRIER_PROVISIONING_URL
    if not url:
        ProvisioningEvent.objects.filter(id=event_id).update(state=State.NOT_SENT, next_attempt_at=None)
        return DeliveryOutcome(claimed=True, state=State.NOT_SENT, attempts=event.attempts)

    body = json.dumps(event.payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = str(int(now.timestamp()))
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(body=body, timestamp=timestamp, secret=settings.CARRIER_PROVISIONING_SECRET),
        "Idempotency-Key": f"ledger-entry-{event.ledger_entry_id}",
    }
    try:
        response = requests.post(url, data=body, headers=headers, timeout=REQUEST_TIMEOUT_SECONDS)
        error = (
            "" if 200 <= response.status_code < 300 else f"HTTP {response.status_code}: {response.text[:200]}"
        )
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]

    if not error:
        ProvisioningEvent.objects.filter(id=event_id).update(
            state=State.SENT, sent_at=now, last_error="", next_attempt_at=None
        )
        return DeliveryOutcome(claimed=True, state=State.SENT, attempts=event.attempts)

    if event.attempts >= MAX_ATTEMPTS:
        ProvisioningEvent.objects.filter(id=event_id).update(
            state=State.FAILED, last_error=error, next_attempt_at=None
        )
        logger.error("Provisioning event %s failed for good: %s", event_id, error)
        return DeliveryOutcome(claimed=True, state=State.FAILED, attempts=event.attempts)

    delay = retry_delay(event.attempts)
    ProvisioningEvent.objects.filter(id=event_id).update(
        state=State.RETRYING, last_error=error, next_attempt_at=now + delay
    )
    logger.warning("Provisioning event %s attempt %s failed: %s", event_id, event.attempts, error)
    return DeliveryOutcome(claimed=True, state=State.RETRYING, attempts=event.attempts, retry_in=delay)


def provisioning_events_due(*, now: datetime, limit: int = 10_000) -> list[tuple[int, int]]:
    """(event id, attempts so far) for events waiting to be sent, oldest first."""
    return list(
        ProvisioningEvent.objects.filter(state__in=[State.PENDING, State.RETRYING])
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("id")
        .values_list("id", "attempts")[:limit]
    )


class ProvisioningRequeueRefused(ValueError):
    """Why an event is not sent again; the message is shown to support."""


def provisioning_event_resend_blocker(*, event: ProvisioningEvent) -> str:
    """Why sending this event again would be wrong, or "" when it may be sent again."""
    if event.state == State.SENT:
        return gettext("This event was already acknowledged by the carrier.")
    if not settings.CARRIER_PROVISIONING_URL:
        return gettext("No carrier address is configured (CARRIER_PROVISIONING_URL): nothing can be sent.")
    # Each event carries the card's whole state; an older one sent after a newer one would undo it.
    if ProvisioningEvent.objects.filter(card_id=event.card_id, state=State.SENT, id__gt=event.id).exists():
        return gettext("A later change of this card reached the carrier and carries its whole state.")
    return ""


def provisioning_event_requeue(*, event: ProvisioningEvent, now: datetime) -> None:
    """Support: send a failed (or never sent) event again, from a fresh backoff."""
    blocker = provisioning_event_resend_blocker(event=event)
    if blocker:
        raise ProvisioningRequeueRefused(blocker)
    requeued = (
        ProvisioningEvent.objects.filter(id=event.id)
        .exclude(state=State.SENT)
        .update(state=State.PENDING, attempts=0, next_attempt_at=None, last_error="")
    )
    if requeued != 1:
        raise ProvisioningRequeueRefused(gettext("This event was already acknowledged by the carrier."))
    from usage.tasks import provisioning_event_send  # tasks import this module

    transaction.on_commit(lambda: provisioning_event_send.delay(event.id, 0))


def provisioning_events_enqueue_due() -> None:
    """After a bulk insert of events (expiry sweep): one dispatcher run instead of a task per event."""
    from usage.tasks import provisioning_events_dispatch  # tasks import this module

    provisioning_events_dispatch.delay()


def provisioning_events_unconfirmed_orders(*, now: datetime) -> list[int]:
    """Order ids whose top-up the carrier has not acknowledged within CONFIRMATION_BOUND."""
    order_ids = ProvisioningEvent.objects.filter(
        state__in=[State.PENDING, State.RETRYING, State.FAILED],
        created_at__lt=now - CONFIRMATION_BOUND,
        ledger_entry__kind=LedgerEntry.Kind.TOPUP,
        ledger_entry__order_id__isnull=False,
    ).values_list("ledger_entry__order_id", flat=True)[:1000]
    return [order_id for order_id in order_ids if order_id is not None]
