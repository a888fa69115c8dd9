"""Card alerts: 75 % / 90 % of the data used, data running out within 24 h at the card's pace
(usage.forecast), expiry in 72 h / 24 h.

Each is sent at most once per validity period and channel: the notice key names the card and its
period, and `notices.services.notice_send` keeps one notice per (kind, key, channel). Only the
highest threshold reached is sent (usage jumping from 50 % to 95 % gets the 90 % alert, not both).

What counts as the same validity period:
- data alerts: the period's start and the data granted in it; a renewal before expiry adds data,
  so crossing 75 % of the larger allowance alerts again;
- expiry reminders: the period's start and its expiry; a renewal moves the expiry, so the new one
  gets its own reminders. A reminder whose moment came before the expiry was set is skipped:
  nobody is told that the day pass they just bought expires in 24 hours.

The run-out alert ("at this pace your data runs out within 24 h, before your plan ends") shares the
data alerts' period key and sits between them on one ladder: 75 % -> run-out -> 90 %. It is sent
while more than 10 % is left (below that the 90 % alert, which carries the forecast, says it), so it
warns the heavy user whom the thresholds would warn too late. It is checked first: a card that gets
it in a sweep gets no 75 % alert in that sweep, and the 75 % alert is held back for 24 hours after a
run-out alert of the same period (it said more, sooner: two warnings in an hour is noise). The
75 %/90 % alerts carry the forecast sentence in their email.
"""

from collections.abc import Callable, Collection, Iterable
from datetime import datetime, timedelta
from typing import cast

from django.conf import settings
from django.db.models import F, OuterRef, QuerySet, Subquery
from django.urls import reverse

from notices.models import Notification
from notices.services import NoticeRecipient, notice_send
from usage.forecast import FORECAST_WINDOW_DAYS, RUNOUT_SOON, UsageForecast, card_forecast
from usage.models import Card, LedgerEntry
from usage.selectors import usage_by_monaco_day

# (kind, remaining data at most this fraction of the period's allowance: numerator, denominator)
DATA_ALERTS = [("card_data_90", 1, 10), ("card_data_75", 1, 4)]
HELD_BACK_BY_RUNOUT = "card_data_75"
EXPIRY_REMINDERS = [("card_expiry_24h", timedelta(hours=24)), ("card_expiry_72h", timedelta(hours=72))]
RUNOUT_ALERT = "card_runout_24h"
# The run-out alert is for cards with more than this fraction left; below it the 90 % alert speaks.
RUNOUT_ABOVE = (1, 10)
CHUNK = 2000

# What builds the "renew" link of a notice: (card, notice kind) -> absolute URL. The default needs a
# login; billing passes its card-scoped renew links (billing.renew_links) when it runs the alerts.
RenewUrlFor = Callable[[Card, str], str]
# A notice to send: the card, the notice kind, its dedup key, the forecast it quotes.
Due = tuple[Card, str, str, UsageForecast | None]


def renew_url(card: Card) -> str:
    return f"{settings.SITE_URL}{reverse('plans:list')}?card={card.pk}"


def _period(card: Card) -> str:
    # Alerts go to cards in a period only (_alertable_cards): both times are set.
    return f"card:{card.pk}:period:{cast(datetime, card.period_started_at).isoformat()}"


def data_alert_key(card: Card) -> str:
    return f"{_period(card)}:allowance:{card.period_allowance}"


def expiry_reminder_key(card: Card) -> str:
    return f"{_period(card)}:expires:{cast(datetime, card.expires_at).isoformat()}"


def login_renew_url(card: Card, kind: str) -> str:
    return renew_url(card)


def _context(card: Card, now: datetime, *, renew_url_for: RenewUrlFor, kind: str) -> dict:
    used = max(card.period_allowance - card.data_remaining, 0)
    return {
        "card_id": card.pk,
        "card_name": card.label or card.iccid,
        "iccid": card.iccid,
        "data_remaining": card.data_remaining,
        "data_used": used,
        "period_allowance": card.period_allowance,
        "percent_used": min(100, used * 100 // card.period_allowance) if card.period_allowance else 0,
        "expires_at": cast(datetime, card.expires_at).isoformat(),
        "renew_url": renew_url_for(card, kind),
    }


def _alertable_cards(now: datetime) -> QuerySet[Card]:
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
    found: set[str] = set()
    for chunk_start in range(0, len(keys), 400):
        wanted = [f"{key}:{channel}" for key in keys[chunk_start : chunk_start + 400] for channel in channels]
        found.update(
            dedupe_key.rsplit(":", 1)[0]
            for dedupe_key in Notification.objects.filter(dedupe_key__in=wanted).values_list(
                "dedupe_key", flat=True
            )
        )
    return found


def _chunks(cards: Iterable[Card]) -> Iterable[list[Card]]:
    chunk: list[Card] = []
    for card in cards:
        chunk.append(card)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _forecasts(cards: list[Card], now: datetime) -> dict[int, UsageForecast]:
    """One aggregate query per chunk (cached per card until its usage changes, as the dashboard's)."""
    per_card = usage_by_monaco_day(cards=cards, now=now)
    return {card.pk: card_forecast(card=card, per_day=per_card.get(card.pk, {}), now=now) for card in cards}


def runout_alerts_send(
    *, now: datetime, renew_url_for: RenewUrlFor = login_renew_url
) -> tuple[int, set[int]]:
    """Cards whose data runs out within 24 h at their pace, before the plan ends.

    Returns the notices queued and the ids of the cards alerted in this sweep.
    """
    numerator, denominator = RUNOUT_ABOVE
    cards = (
        _alertable_cards(now)
        .filter(
            period_allowance__gt=0,
            # No usage reported in the forecast's window: the pace is zero, nothing can run out.
            usage_updated_at__gte=now - timedelta(days=FORECAST_WINDOW_DAYS + 1),
        )
        .alias(remaining_scaled=F("data_remaining") * denominator)
        .filter(remaining_scaled__gt=F("period_allowance") * numerator)
    )
    due: list[Due] = []
    for chunk in _chunks(cards.order_by("pk").iterator(chunk_size=CHUNK)):
        forecasts = _forecasts(chunk, now)
        for card in chunk:
            forecast = forecasts[card.pk]
            if forecast.runs_out_within(RUNOUT_SOON, now=now):
                due.append((card, RUNOUT_ALERT, data_alert_key(card), forecast))
    sent, alerted = _send(due, now, renew_url_for=renew_url_for)
    return sent, alerted


def data_alerts_send(
    *, now: datetime, renew_url_for: RenewUrlFor = login_renew_url, skip_cards: Collection[int] = ()
) -> int:
    cards = (
        _alertable_cards(now)
        .filter(period_allowance__gt=0)
        .exclude(pk__in=skip_cards)
        .alias(remaining_x4=F("data_remaining") * 4)
        .filter(remaining_x4__lte=F("period_allowance"))
    )
    due: list[Due] = []
    for chunk in _chunks(cards.order_by("pk").iterator(chunk_size=CHUNK)):
        held_back = _runout_noticed_since([data_alert_key(card) for card in chunk], since=now - RUNOUT_SOON)
        forecasts = _forecasts(chunk, now)
        for card in chunk:
            for kind, numerator, denominator in DATA_ALERTS:
                if card.data_remaining * denominator <= card.period_allowance * numerator:
                    if kind != HELD_BACK_BY_RUNOUT or data_alert_key(card) not in held_back:
                        due.append((card, kind, data_alert_key(card), forecasts[card.pk]))
                    break
    return _send(due, now, renew_url_for=renew_url_for)[0]


def _runout_noticed_since(keys: list[str], *, since: datetime) -> set[str]:
    """The period keys whose run-out alert went out (on any channel) at or after `since`."""
    channels = [channel for channel, _ in Notification.Channel.choices]
    wanted = [f"{RUNOUT_ALERT}:{key}:{channel}" for key in keys for channel in channels]
    prefix = len(RUNOUT_ALERT) + 1
    return {
        dedupe_key[prefix:].rsplit(":", 1)[0]
        for dedupe_key in Notification.objects.filter(
            dedupe_key__in=wanted, created_at__gte=since
        ).values_list("dedupe_key", flat=True)
    }


def expiry_reminders_send(*, now: datetime, renew_url_for: RenewUrlFor = login_renew_url) -> int:
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
    due: list[Due] = []
    for card in cards:
        for kind, window in EXPIRY_REMINDERS:
            if cast(datetime, card.expires_at) - now <= window:
                if (
                    card.expiry_set_at is None
                    or card.expiry_set_at < cast(datetime, card.expires_at) - window
                ):
                    due.append((card, kind, expiry_reminder_key(card), None))
                break
    return _send(due, now, renew_url_for=renew_url_for)[0]


def _send(due: list[Due], now: datetime, *, renew_url_for: RenewUrlFor) -> tuple[int, set[int]]:
    done = _already_noticed([f"{kind}:{key}" for _, kind, key, _ in due])
    sent = 0
    alerted = set()
    for card, kind, key, forecast in due:
        if f"{kind}:{key}" in done:
            continue
        context = _context(card, now, renew_url_for=renew_url_for, kind=kind)
        if forecast is not None:
            context["forecast"] = forecast.as_context()
        queued = notice_send(user=cast(NoticeRecipient, card.owner), kind=kind, key=key, context=context)
        sent += len(queued)
        if queued:
            alerted.add(card.pk)
    return sent, alerted


def card_alerts_send(*, now: datetime, renew_url_for: RenewUrlFor = login_renew_url) -> int:
    """Everything due at `now`; returns the number of notices queued (one per channel)."""
    runout_sent, runout_cards = runout_alerts_send(now=now, renew_url_for=renew_url_for)
    return (
        runout_sent
        + data_alerts_send(now=now, renew_url_for=renew_url_for, skip_cards=runout_cards)
        + expiry_reminders_send(now=now, renew_url_for=renew_url_for)
    )
