from celery import shared_task
from django.utils import timezone

from usage import alerts, ledger
from usage.provisioning import provisioning_event_deliver, provisioning_events_due


@shared_task(acks_late=True, ignore_result=True)
def provisioning_event_send(event_id: int, attempts_seen: int = 0) -> str:
    outcome = provisioning_event_deliver(event_id=event_id, attempts_seen=attempts_seen, now=timezone.now())
    if outcome.retry_in is not None and not provisioning_event_send.app.conf.task_always_eager:
        # The periodic dispatcher would pick it up as well; this keeps the backoff precise.
        # (Eagerly, a countdown is ignored: the dispatcher alone retries, on its schedule.)
        provisioning_event_send.apply_async(
            (event_id, outcome.attempts), countdown=outcome.retry_in.total_seconds()
        )
    return outcome.state or "not claimed"


@shared_task(ignore_result=True)
def provisioning_events_dispatch() -> int:
    """Safety net for lost messages and bulk-created events (expiry sweep): send what is due."""
    due = provisioning_events_due(now=timezone.now())
    for event_id, attempts in due:
        provisioning_event_send.delay(event_id, attempts)
    return len(due)


@shared_task(ignore_result=True)
def cards_expire_sweep() -> int:
    return ledger.cards_expire(now=timezone.now())


@shared_task(ignore_result=True)
def card_alerts_send() -> int:
    return alerts.card_alerts_send(now=timezone.now())
