import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.core.cache.utils import make_template_fragment_key
from django.core.paginator import Page
from django.db.models import QuerySet, Sum
from django.db.models.functions import TruncDate
from django.http import Http404
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import dateformat
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext

from portal.lib.display import (
    format_day,
    format_duration_since,
    format_gb,
    format_monaco_datetime,
    format_monaco_weekday_time,
    format_relative,
    monaco_zone,
)
from portal.lib.pagination import page_of
from usage.forecast import UsageForecast, card_forecast, forecast_sentence
from usage.models import Card, LedgerEntry, UsageRecord
from usage.network import Step, entry_network_progress, network_note, network_steps

CHART_DAYS = 14
CHART_CACHE_SECONDS = 6 * 3600
BADGES = {
    Card.State.NEVER_ACTIVATED: "never",
    Card.State.ACTIVE: "active",
    Card.State.EXPIRING_SOON: "expiring",
    Card.State.EXPIRED: "expired",
    Card.State.SUSPENDED: "suspended",
}


def card_short_name(card: Card) -> str:
    """ "eSIM …123456": the kind and the last digits, never the label the owner typed (it may hold their
    name). Joined so that a phone never breaks it between the dots and the digits."""
    kind = gettext("eSIM") if card.kind == Card.Kind.ESIM else gettext("SIM card")
    return f"{kind}\u00a0…\u2060{card.iccid[-6:]}"


def card_name(card: Card) -> str:
    """A card as its owner knows it, on every page: the name they gave it, else "eSIM …123456"."""
    return card.label or card_short_name(card)


def cards_for_user(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Card]:
    if not user.is_authenticated:
        return Card.objects.none()
    return Card.objects.filter(owner_id=user.pk).order_by("created_at", "id")


def card_get_for_user(*, user: AbstractBaseUser | AnonymousUser, card_id: int) -> Card:
    """The user's own card, or 404: an outsider cannot tell someone else's card from a missing one."""
    if not user.is_authenticated:
        raise Http404
    card = Card.objects.filter(pk=card_id, owner_id=user.pk).first()
    if card is None:
        raise Http404
    return card


@dataclass
class UsageDay:
    day: date
    bytes: int


@dataclass
class CardSummary:
    card: Card
    state: str
    state_label: str
    remaining: int
    allowance: int
    used: int
    remaining_percent: int
    is_active: bool
    is_expired: bool
    forecast: UsageForecast
    # Prepared here, in the request's language, so the template prints one string.
    forecast_sentence: str
    # The card's figures as the page shows them, formatted once here rather than by a filter or a
    # {% blocktranslate %} per use in the template (usage/_card_summary.html).
    remaining_text: str = ""
    used_text: str = ""
    allowance_text: str = ""
    percent_text: str = ""
    gauge_text: str = ""
    expires_text: str = ""
    expires_relative: str = ""
    usage_updated_text: str = ""
    detail_url: str = ""
    esim_url: str = ""
    # What the template would otherwise decide or look up per card (usage/_card_summary.html).
    name: str = ""
    iccid_tail: str = ""
    show_gauge: bool = False
    gauge_class: str = ""
    expiry_heading: str = ""
    usage_line: str = ""
    plan_label: str = ""
    expires_weekday_text: str = ""
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def badge(self) -> str:
        return BADGES[Card.State(self.state)]

    @property
    def low_mark(self) -> int:
        return self.allowance // 10

    @property
    def high_mark(self) -> int:
        return self.allowance // 4


@dataclass
class UsageChart:
    days: list[UsageDay]
    total: int = 0
    peak: int = 0
    bars: list[dict] = field(default_factory=list)
    # Identifies the drawing: the rendered SVG and table are cached under it (content-addressed).
    fingerprint: str = ""


def _urlconf() -> str:
    return str(get_urlconf() or settings.ROOT_URLCONF)


@lru_cache(maxsize=4096)
def _card_url(name: str, card_id: int, urlconf: str, script_prefix: str) -> str:
    """A card's links, resolved once per process (per URL configuration and prefix, as reverse())."""
    return reverse(name, args=[card_id], urlconf=urlconf)


@lru_cache(maxsize=16)
def _card_summary_labels(language: str | None) -> dict[str, str]:
    """The card summary's fixed words in one language, looked up once per process and language
    rather than by a {% translate %} per card per page. Marked safe as that tag's output is: they
    are the project's own catalogue, so "l'eSIM" stays as written in the page."""
    labels = {
        "data_left": gettext("data left"),
        "used_this_period": gettext("used this period"),
        "data_left_this_period": gettext("Data left this period"),
        "not_started": gettext("Not started: choose a plan to activate this card."),
        "forfeited": gettext(
            "Unused data was forfeited when the card expired. Renew to start a new period from now."
        ),
        "suspended": gettext("This card is suspended. Please contact support."),
        "late": gettext("the network can report usage a few hours late."),
        "install_esim": gettext("Install eSIM"),
        "details": gettext("Details and history"),
        "expired": gettext("Expired"),
        "valid_until": gettext("Valid until"),
        "no_usage": gettext("No usage reported yet"),
        "choose_plan": gettext("Choose a plan"),
        "renew": gettext("Renew"),
    }
    return {key: mark_safe(text) for key, text in labels.items()}  # noqa: S308 - translations, not input


def card_summary(*, card: Card, now: datetime, per_day: dict[date, int]) -> CardSummary:
    """What the traveller sees, from the card row, its usage per day and the clock: right before the
    sweep runs."""
    state = card.state_at(now)
    remaining = card.data_remaining_at(now)
    allowance = max(card.period_allowance, remaining)
    used = max(allowance - card.data_remaining, 0) if card.expires_at else 0
    percent = round(100 * remaining / allowance) if allowance else 0
    forecast = card_forecast(card=card, per_day=per_day, now=now)
    remaining_text, allowance_text = format_gb(remaining), format_gb(allowance)
    labels = _card_summary_labels(get_language())
    is_expired = state == Card.State.EXPIRED
    usage_updated_text = (
        gettext("Usage updated %(ago)s ago") % {"ago": format_duration_since(card.usage_updated_at, now)}
        if card.usage_updated_at
        else ""
    )
    return CardSummary(
        card=card,
        state=state,
        state_label=str(Card.State(state).label),
        remaining=remaining,
        allowance=allowance,
        used=used,
        remaining_percent=percent,
        is_active=card.is_active_at(now),
        is_expired=is_expired,
        forecast=forecast,
        forecast_sentence=forecast_sentence(forecast),
        remaining_text=remaining_text,
        used_text=format_gb(used),
        allowance_text=allowance_text,
        percent_text=gettext("%(percent)s %%") % {"percent": percent},
        gauge_text=gettext("%(left)s of %(total)s left") % {"left": remaining_text, "total": allowance_text},
        expires_text=format_monaco_datetime(card.expires_at) if card.expires_at else "",
        expires_relative=format_relative(card.expires_at, now) if card.expires_at else "",
        usage_updated_text=usage_updated_text,
        detail_url=_card_url("usage:card_detail", card.pk, _urlconf(), get_script_prefix()),
        esim_url=(
            _card_url("usage:card_esim", card.pk, _urlconf(), get_script_prefix())
            if card.kind == Card.Kind.ESIM
            else ""
        ),
        name=card_name(card),
        iccid_tail=card.iccid[-6:] if card.label else "",
        show_gauge=bool(allowance) and not is_expired,
        gauge_class=" gauge-danger" if percent <= 10 else " gauge-warn" if percent <= 25 else "",
        expiry_heading=labels["expired"] if is_expired else labels["valid_until"],
        usage_line=usage_updated_text or labels["no_usage"],
        plan_label=labels["choose_plan"] if state == Card.State.NEVER_ACTIVATED else labels["renew"],
        expires_weekday_text=format_monaco_weekday_time(card.expires_at) if card.expires_at else "",
        labels=labels,
    )


def monaco_today(now: datetime) -> date:
    return now.astimezone(monaco_zone()).date()


def _usage_by_monaco_day_query(
    *, card_ids: list[int], since: datetime, now: datetime
) -> dict[int, dict[date, int]]:
    rows = (
        UsageRecord.objects.filter(card_id__in=card_ids, start__gte=since, start__lte=now)
        .annotate(day=TruncDate("start", tzinfo=monaco_zone()))
        .values("card_id", "day")
        .annotate(total=Sum("bytes"))
        .order_by()
    )
    totals: dict[int, dict[date, int]] = {card_id: {} for card_id in card_ids}
    for row in rows:
        totals[row["card_id"]][row["day"]] = row["total"] or 0
    return totals


def _usage_days_keys(*, cards: list[Card], now: datetime, days: int) -> dict[int, str]:
    first_day = monaco_today(now) - timedelta(days=days - 1)
    return {
        card.pk: f"usage-days:v1:{card.pk}:{card.usage_updated_at.isoformat() if card.usage_updated_at else '-'}"
        f":{first_day.isoformat()}:{days}"
        for card in cards
    }


def usage_by_monaco_day(
    *, cards: list[Card], now: datetime, days: int = CHART_DAYS, cached: dict | None = None
) -> dict[int, dict[date, int]]:
    """Bytes used per card per Monaco calendar day over the last `days` days, summed by the database.

    Cached per card until its usage changes: every usage write (usage/feeds.py) moves the card's
    `usage_updated_at`, which is part of the key, and so does the day, so the cache needs no purging.
    `cached`: what a caller already read from the cache for these keys (the dashboard reads them
    with its chart in one round trip).
    """
    if not cards:
        return {}
    keys = _usage_days_keys(cards=cards, now=now, days=days)
    if cached is None:
        cached = cache.get_many(list(keys.values()))
    totals = {card_id: cached[key] for card_id, key in keys.items() if key in cached}
    missing = [card_id for card_id in keys if card_id not in totals]
    if missing:
        first_day = monaco_today(now) - timedelta(days=days - 1)
        since = datetime.combine(first_day, datetime.min.time(), tzinfo=monaco_zone())
        fresh = _usage_by_monaco_day_query(card_ids=missing, since=since, now=now)
        # Only cards with a usage timestamp are cached: without one, nothing marks a change.
        cache.set_many(
            {keys[card.pk]: fresh[card.pk] for card in cards if card.pk in fresh and card.usage_updated_at},
            timeout=CHART_CACHE_SECONDS,
        )
        totals.update(fresh)
    return totals


# The chart's drawing box, in SVG user units (the SVG scales to the page width).
CHART_WIDTH = 350
CHART_HEIGHT = 170
CHART_TOP = 22
CHART_BOTTOM = 140


def usage_chart(
    *,
    per_day: dict[date, int],
    now: datetime,
    days: int = CHART_DAYS,
    fingerprint: str = "",
    drawn: bool = True,
) -> UsageChart:
    """The last `days` Monaco days of use. `fingerprint`: the caller's key for the drawing (else its
    content's hash); `drawn=False`: the days and totals only, when the caller has the drawing already."""
    today = monaco_today(now)
    series = [UsageDay(day=today - timedelta(days=offset), bytes=0) for offset in range(days - 1, -1, -1)]
    for item in series:
        item.bytes = per_day.get(item.day, 0)
    chart = UsageChart(
        days=series, total=sum(item.bytes for item in series), peak=max(item.bytes for item in series)
    )
    chart.fingerprint = (
        fingerprint
        or hashlib.sha256(repr([(item.day, item.bytes) for item in series]).encode()).hexdigest()[:32]
    )
    if not drawn:
        return chart
    slot = CHART_WIDTH / days
    drawable = CHART_BOTTOM - CHART_TOP
    for index, item in enumerate(series):
        height = round(drawable * item.bytes / chart.peak, 1) if chart.peak else 0
        if item.bytes and height < 1:
            height = 1  # a day with any use stays visible
        chart.bars.append(
            {
                "day": item.day,
                "bytes": item.bytes,
                "x": round(index * slot + slot * 0.15, 1),
                "width": round(slot * 0.7, 1),
                "y": round(CHART_BOTTOM - height, 1),
                "height": height,
                "label_x": round(index * slot + slot / 2, 1),
                # Every other day is labelled so the labels stay readable on a phone; today always is.
                "labelled": (days - 1 - index) % 2 == 0,
                "is_today": item.day == today,
            }
        )
    return chart


@dataclass
class Dashboard:
    cards: list[CardSummary]
    chart: UsageChart
    # The chart's rendered fragment when the cache already had it (read with the usage days).
    chart_html: str = ""


# The dashboard's chart as usage/_usage_chart.html caches it: {% cache ... usage_chart
# chart.fingerprint chart_id LANGUAGE_CODE %}.
DASHBOARD_CHART_ID = "dashboard"


def dashboard_get(*, user: AbstractBaseUser | AnonymousUser, now: datetime) -> Dashboard:
    """Everything on the dashboard in a fixed number of queries, however many cards and records,
    and one cache read: the cards' usage days and the chart's fragment together."""
    cards = list(cards_for_user(user=user))
    keys = _usage_days_keys(cards=cards, now=now, days=CHART_DAYS)
    fragment_key = fingerprint = ""
    if cards and all(card.usage_updated_at for card in cards):
        # The usage days' keys name everything the chart draws (the cards, their latest usage, the
        # days), so they identify it as well as its content does, and are known before reading it.
        fingerprint = hashlib.sha256("|".join(keys.values()).encode()).hexdigest()[:32]
        fragment_key = make_template_fragment_key(
            "usage_chart", [fingerprint, DASHBOARD_CHART_ID, get_language()]
        )
    cached = (
        cache.get_many([*keys.values(), fragment_key] if fragment_key else list(keys.values()))
        if cards
        else {}
    )
    per_card = usage_by_monaco_day(cards=cards, now=now, cached=cached)
    combined: dict[date, int] = {}
    for totals in per_card.values():
        for day, used in totals.items():
            combined[day] = combined.get(day, 0) + used
    chart_html = mark_safe(cached[fragment_key]) if fragment_key in cached else ""  # noqa: S308 - our template's
    chart = usage_chart(per_day=combined, now=now, fingerprint=fingerprint, drawn=not chart_html)
    return Dashboard(
        cards=[card_summary(card=card, now=now, per_day=per_card.get(card.pk, {})) for card in cards],
        chart=chart,
        # Rendered by our own template, stored by its {% cache %} tag.
        chart_html=chart_html,
    )


@dataclass
class CardDetail:
    summary: CardSummary
    chart: UsageChart
    ledger_entries: Page
    usage_records: Page
    # The latest change the network must enforce (a top-up, a staff adjustment...), step by step.
    latest_change: LedgerEntry | None = None
    network_steps: list[Step] = field(default_factory=list)
    network_note: str = ""
    network_state: str = ""


def card_detail_get(
    *, card: Card, now: datetime, changes_page: str | None = None, usage_page: str | None = None
) -> CardDetail:
    """The card page; its two lists are paginated (`changes_page`, `usage_page`: page numbers as typed)."""
    per_day = usage_by_monaco_day(cards=[card], now=now).get(card.pk, {})
    # Usage has its own list below; here what changed the card otherwise (top-ups, expiry, staff).
    changes = card.ledger_entries.exclude(kind=LedgerEntry.Kind.USAGE).order_by("-created_at", "-id")
    detail = CardDetail(
        summary=card_summary(card=card, now=now, per_day=per_day),
        chart=usage_chart(per_day=per_day, now=now),
        ledger_entries=page_of(changes, changes_page),
        usage_records=page_of(card.usage_records.order_by("-start", "-id"), usage_page),
    )
    if detail.ledger_entries.number == 1:
        latest = next(
            (entry for entry in detail.ledger_entries if entry.kind != LedgerEntry.Kind.EXPIRY_FORFEIT), None
        )
    else:
        latest = changes.exclude(kind=LedgerEntry.Kind.EXPIRY_FORFEIT).first()
    if latest is not None:
        network = entry_network_progress(entry=latest, now=now)
        detail.latest_change = latest
        detail.network_steps = network_steps(changed_at=latest.created_at, network=network)
        detail.network_note = network_note(network)
        detail.network_state = network.state
    return detail


def offline_snapshot(*, dashboard: Dashboard, now: datetime) -> dict | None:
    """What the installable app keeps to show offline (static/sw.js): per card its data left and
    validity, as sentences already in the customer's language. Nothing else: no name, no ICCID
    beyond its last digits, no email, phone or payment detail (a phone may be shared)."""
    if not dashboard.cards:
        return None
    local = now.astimezone(monaco_zone())
    time_today = dateformat.format(local, "H:i")
    time_dated = f"{format_day(local.date())}, {time_today}"
    cards = []
    esim, sim = gettext("eSIM"), gettext("SIM card")
    line_active = gettext("Last known, as of %(time)s: %(data)s left, valid until %(expiry)s")
    line_state = gettext("Last known, as of %(time)s: %(state)s")
    line_expired = gettext("Expired on %(expiry)s")
    for summary in dashboard.cards:
        card = summary.card
        kind = esim if card.kind == Card.Kind.ESIM else sim
        entry = {
            "name": f"{kind} …{card.iccid[-6:]}",
            "expires_at": card.expires_at.isoformat() if card.expires_at else None,
        }
        if summary.is_active and card.expires_at is not None:
            values = {"data": summary.remaining_text, "expiry": summary.expires_weekday_text}
            entry["line_today"] = line_active % {**values, "time": time_today}
            entry["line_dated"] = line_active % {**values, "time": time_dated}
        else:
            entry["line_today"] = entry["line_dated"] = line_state % {
                "time": time_dated,
                "state": summary.state_label,
            }
        entry["line_expired"] = line_expired % {"expiry": summary.expires_weekday_text}
        cards.append(entry)
    return {
        "v": 1,
        "saved_at": now.isoformat(),
        "day": local.date().isoformat(),
        "lang": get_language(),
        "title": gettext("You are offline"),
        "message": gettext(
            "You are offline — on Wi-Fi you can renew. This page works again as soon as you are connected."
        ),
        "hint": gettext(
            "Out of data? On any phone or computer with a connection, open the renew link from your latest "
            "alert: it needs no login."
        ),
        "retry": gettext("Try again"),
        "heading_today": gettext("Last known balance"),
        "heading_dated": gettext("Last known balance"),
        "note": gettext("From your last visit online: data used since then is not counted yet."),
        "cards": cards,
    }


@dataclass(frozen=True)
class RenewalPreview:
    """What renewing a card from `start` would do: DOMAIN.md "Renewal", read-only
    (usage.ledger.card_topup applies it)."""

    carries_over: bool
    data_kept: int
    data_after: int
    expires_after: datetime


def card_renewal_preview(
    *, card: Card | None, duration: timedelta, add_bytes: int, start: datetime
) -> RenewalPreview:
    """An active card keeps its data and time and gets more; an expired, unused or new one (None)
    starts a new period at `start` (what was left was forfeited at expiry)."""
    if card is not None and card.expires_at is not None and start < card.expires_at:
        return RenewalPreview(
            carries_over=True,
            data_kept=card.data_remaining,
            data_after=card.data_remaining + add_bytes,
            expires_after=card.expires_at + duration,
        )
    return RenewalPreview(
        carries_over=False, data_kept=0, data_after=add_bytes, expires_after=start + duration
    )
