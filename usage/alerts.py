"""Card alerts: 75 % / 90 % of the data used, expiry in 72 h / 24 h.

Each is sent at most once per validity period and channel: the notice key names the card and its
period, and `notices.services.notice_send` keeps one notice per (kind, key, channel). Only the
highest threshold reached is sent (usage jumping from 50 % to 95 % gets the 90 % alert, not both).

What counts as the same validity period:
- data alerts: the period's start and the data granted in it; a renewal before expiry adds data,
  so crossing 75 % of the larger allowance alerts again;
- expiry reminders: the period's start and its expiry; a renewal moves the expiry, so the new one
  gets its own reminders. A reminder whose moment came before the expiry was set is skipped:
  nobody is told that the day pass they just bought expires in 24 hours.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, OuterRef, Subquery
from django.urls import reverse

from notices.models import Notification
from notices.services import notice_send
from usage.models import Card, LedgerEntry

# (kind, remaining data at most this fraction of the period's allowance: numerator, denominator)
DATA_ALERTS = [("card_data_90", 1, 10), ("card_data_75", 1, 4)]
EXPIRY_REMINDERS = [("card_expiry_24h", timedelta(hours=24)), ("card_expiry_72h", timedelta(hours=72))]


def renew_url(card: Card) -> str:
    return f"{settings.SITE_URL}{reverse('plans:list')}?card={card.pk}"


def _period(card: Card) -> str:
    return f"card:{card.pk}:period:{card.period_started_at.isoformat()}"


def data_alert_key(card: Card) -> str:
    return f"{_period(card)}:allowance:{card.period_allowance}"


def expiry_reminder_key(card: Card) -> str:
    return f"{_period(card)}:expires:{card.expires_at.isoformat()}"


def _context(card: Card, now: datetime) -> dict:
    used = max(card.period_allowance - card.data_remaining, 0)
    return {
        "card_id": card.pk,
        "card_name": card.label or card.iccid,
        "iccid": card.iccid,
        "data_remaining": card.data_remaining,
        "data_used": used,
        "period_allowance": card.period_allowance,
        "percent_used": min(100, used * 100 // card.period_allowance) if card.period_allowance else 0,
        "expires_at": card.expires_at.isoformat(),
        "renew_url": renew_url(card),
    }


def _alertable_cards(now: datetime):
    return Card.objects.filter(
        owner__isnull=False,
        owner__is_active=True,
        suspended_at__isnull=True,
        period_started_at__isnull=False,
        expires_at__gt=now,
    ).select_related("owner")


def _already_noticed(keys: list[str]) -> set[str]:
    """The "kind:key" pairs already noticed on some channel; notice_send dedupes too, this is cheaper."""
    channels = [channel for channel, _ in Notification.Channel.choices]
    found = set()
    for chunk_start in range(0, len(keys), 400):
        wanted = [f"{key}:{channel}" for key in keys[chunk_start : chunk_start + 400] for channel in channels]
        found.update(
            dedupe_key.rsplit(":", 1)[0]
            for dedupe_key in Notification.objects.filter(dedupe_key__in=wanted).values_list(
                "dedupe_key", flat=True
            )
        )
    return found


def data_alerts_send(*, now: datetime) -> int:
    cards = (
        _alertable_cards(now)
        .filter(period_allowance__gt=0)
        .alias(remaining_x4=F("data_remaining") * 4)
        .filter(remaining_x4__lte=F("period_allowance"))
    )
    due = []
    for card in cards.iterator(chunk_size=2000):
        for kind, numerator, denominator in DATA_ALERTS:
            if card.data_remaining * denominator <= card.period_allowance * numerator:
                due.append((card, kind, data_alert_key(card)))
                break
    return _send(due, now)


def expiry_reminders_send(*, now: datetime) -> int:
    longest = max(window for _, window in EXPIRY_REMINDERS)
    expiry_set_at = (
        LedgerEntry.objects.filter(card=OuterRef("pk"), expires_after=OuterRef("expires_at"))
        .exclude(expires_before=F("expires_after"), expires_before__isnull=False)
        .order_by("-id")
        .values("created_at")[:1]
    )
    cards = (
        _alertable_cards(now)
        .filter(expires_at__lte=now + longest)
        .annotate(expiry_set_at=Subquery(expiry_set_at))
    )
    due = []
    for card in cards:
        for kind, window in EXPIRY_REMINDERS:
            if card.expires_at - now <= window:
                if card.expiry_set_at is None or card.expiry_set_at < card.expires_at - window:
                    due.append((card, kind, expiry_reminder_key(card)))
                break
    return _send(due, now)


def _send(due: list[tuple[Card, str, str]], now: datetime) -> int:
    done = _already_noticed([f"{kind}:{key}" for _, kind, key in due])
    sent = 0
    for card, kind, key in due:
        if f"{kind}:{key}" in done:
            continue
        sent += len(notice_send(user=card.owner, kind=kind, key=key, context=_context(card, now)))
    return sent


def card_alerts_send(*, now: datetime) -> int:
    """Everything due at `now`; returns the number of notices queued (one per channel)."""
    return data_alerts_send(now=now) + expiry_reminders_send(now=now)
