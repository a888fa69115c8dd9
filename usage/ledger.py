# ruff: noqa: S608 -- the sweep's SQL is assembled from model table names; values are parameters.
"""The card ledger: the code that writes LedgerEntry rows and the Card cache they fold into.

One exception, for speed (bench/usage_ingest.py measured it): usage/feeds.py writes `usage` entries
and the cards' cached balance in set-based SQL, a batch of records at a time. It keeps this module's
rules: the card rows are locked first, data never goes below zero (`ledger_append` refuses it;
feeds' `_at_least_zero`), and `ledgers_check` verifies both paths' cache against the ledger.

Every function here expects to run inside `transaction.atomic()` with the card row locked
(`Card.objects.select_for_update().get(...)`), so the cache and the ledger always move together.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import Exists, OuterRef, QuerySet, Subquery, Sum
from django.utils.translation import gettext as _

from usage.models import Card, LedgerEntry, ProvisioningEvent, UsageRecord
from usage.provisioning import (
    carrier_time,
    initial_state,
    provisioning_event_record,
    provisioning_events_enqueue_due,
    provisioning_payload_sql,
)

Kind = LedgerEntry.Kind

# Entries that change what the mobile network must enforce; each becomes a provisioning event.
NETWORK_KINDS = frozenset(
    {
        Kind.TOPUP,
        Kind.EXPIRY_FORFEIT,
        Kind.SUSPENSION,
        Kind.RESUMPTION,
        Kind.REFUND_REVERSAL,
        Kind.ADJUSTMENT,
    }
)

CACHED_FIELDS = [
    "data_remaining",
    "expires_at",
    "period_started_at",
    "period_allowance",
    "overage_bytes",
    "suspended_at",
]


class LedgerError(Exception):
    """A change the ledger refuses: the message says why, for staff and logs."""


class TopupAlreadyApplied(LedgerError):
    pass


def _require_transaction() -> None:
    if not connection.in_atomic_block:
        raise LedgerError("Ledger writes must run inside transaction.atomic() with the card row locked.")


def ledger_append(
    *,
    card: Card,
    kind: str,
    data_delta: int,
    expires_after: datetime | None,
    now: datetime,
    order_id: int | None = None,
    staff_user: AbstractBaseUser | None = None,
    reason: str = "",
) -> LedgerEntry:
    """Write one entry and save the card's cached fields as they stand after it.

    Callers that open a new validity period or suspend a card set those fields on `card` first;
    data and expiry are always taken from the entry.
    """
    _require_transaction()
    data_after = card.data_remaining + data_delta
    if data_after < 0:
        raise LedgerError(
            _("Card %(card)s: %(delta)s B would leave %(after)s B, below zero.")
            % {"card": card.pk, "delta": data_delta, "after": data_after}
        )
    entry = LedgerEntry.objects.create(
        card=card,
        kind=kind,
        data_delta=data_delta,
        data_after=data_after,
        expires_before=card.expires_at,
        expires_after=expires_after,
        order_id=order_id,
        staff_user_id=staff_user.pk if staff_user is not None else None,
        reason=reason,
        created_at=now,
    )
    card.data_remaining = data_after
    card.expires_at = expires_after
    card.save(update_fields=CACHED_FIELDS)
    if kind in NETWORK_KINDS:
        provisioning_event_record(entry=entry, card=card, now=now)
    return entry


def _forfeit_if_unswept(*, card: Card, now: datetime) -> LedgerEntry | None:
    """Close a period that ended before the expiry sweep reached it."""
    if card.expires_at is None or card.expires_at > now:
        return None
    already = LedgerEntry.objects.filter(
        card=card, kind=Kind.EXPIRY_FORFEIT, expires_before=card.expires_at
    ).exists()
    if already:
        return None
    return ledger_append(
        card=card,
        kind=Kind.EXPIRY_FORFEIT,
        data_delta=-card.data_remaining,
        expires_after=card.expires_at,
        now=now,
    )


def card_topup(
    *,
    card: Card,
    allowance_bytes: int,
    duration: timedelta,
    start: datetime,
    order_id: int,
    now: datetime,
) -> LedgerEntry:
    """DOMAIN.md "Renewal": extend an active card, or start a new period on one that is not."""
    _require_transaction()
    if allowance_bytes < 0 or duration <= timedelta(0):
        raise LedgerError(_("A top-up needs a positive duration and a non-negative allowance."))
    if order_id is None:
        raise LedgerError(_("A top-up must name the order that paid for it."))
    if LedgerEntry.objects.filter(kind=Kind.TOPUP, order_id=order_id).exists():
        raise TopupAlreadyApplied(_("Order %(order)s has already topped up a card.") % {"order": order_id})

    if card.expires_at is not None and start < card.expires_at:
        data_delta = allowance_bytes
        # Paid before expiry, applied after the sweep closed that period: the customer keeps the
        # data the sweep forfeited, as if the worker had run on time.
        if card.expires_at <= now:
            premature = LedgerEntry.objects.filter(
                card=card, kind=Kind.EXPIRY_FORFEIT, expires_before=card.expires_at
            ).first()
            if premature is not None:
                data_delta += -premature.data_delta
        expires_after = card.expires_at + duration
        card.period_allowance += data_delta
        if card.period_started_at is None:
            card.period_started_at = start
    else:
        _forfeit_if_unswept(card=card, now=now)
        data_delta = allowance_bytes - card.data_remaining
        expires_after = start + duration
        card.period_started_at = start
        card.period_allowance = allowance_bytes
        card.overage_bytes = 0

    try:
        with transaction.atomic():
            return ledger_append(
                card=card,
                kind=Kind.TOPUP,
                data_delta=data_delta,
                expires_after=expires_after,
                now=now,
                order_id=order_id,
            )
    except IntegrityError as error:
        card.refresh_from_db()
        raise TopupAlreadyApplied(
            _("Order %(order)s has already topped up a card.") % {"order": order_id}
        ) from error


def card_adjust(
    *,
    card: Card,
    data_delta: int = 0,
    expires_at: datetime | None = None,
    staff_user: AbstractBaseUser | None,
    reason: str,
    now: datetime,
) -> LedgerEntry:
    """A staff correction: data up or down (never below zero) and/or a new expiry, with a reason."""
    _require_transaction()
    if staff_user is None:
        raise LedgerError(_("An adjustment must name the staff member who made it."))
    if not reason.strip():
        raise LedgerError(_("An adjustment needs a written reason."))
    if data_delta == 0 and (expires_at is None or expires_at == card.expires_at):
        raise LedgerError(_("This adjustment changes nothing."))
    if card.data_remaining + data_delta < 0:
        raise LedgerError(
            _("The card has %(left)s B; it cannot lose %(lost)s B.")
            % {"left": card.data_remaining, "lost": -data_delta}
        )
    new_expiry = expires_at if expires_at is not None else card.expires_at
    if data_delta > 0 and (new_expiry is None or new_expiry <= now):
        raise LedgerError(
            _("Data added to a card that is not active would be forfeited: set a future expiry too.")
        )
    if new_expiry is not None and card.period_started_at is None:
        card.period_started_at = now
    if data_delta > 0:
        card.period_allowance += data_delta
    return ledger_append(
        card=card,
        kind=Kind.ADJUSTMENT,
        data_delta=data_delta,
        expires_after=new_expiry,
        now=now,
        staff_user=staff_user,
        reason=reason.strip(),
    )


def card_suspend(*, card: Card, staff_user: AbstractBaseUser, reason: str, now: datetime) -> LedgerEntry:
    _require_transaction()
    if card.suspended_at is not None:
        raise LedgerError(_("This card is already suspended."))
    if not reason.strip():
        raise LedgerError(_("A suspension needs a written reason."))
    card.suspended_at = now
    return ledger_append(
        card=card,
        kind=Kind.SUSPENSION,
        data_delta=0,
        expires_after=card.expires_at,
        now=now,
        staff_user=staff_user,
        reason=reason.strip(),
    )


def card_resume(*, card: Card, staff_user: AbstractBaseUser, reason: str, now: datetime) -> LedgerEntry:
    _require_transaction()
    if card.suspended_at is None:
        raise LedgerError(_("This card is not suspended."))
    if not reason.strip():
        raise LedgerError(_("A resumption needs a written reason."))
    card.suspended_at = None
    return ledger_append(
        card=card,
        kind=Kind.RESUMPTION,
        data_delta=0,
        expires_after=card.expires_at,
        now=now,
        staff_user=staff_user,
        reason=reason.strip(),
    )


def card_reverse_topup(
    *,
    card: Card,
    order_id: int,
    max_data: int,
    max_duration: timedelta,
    now: datetime,
    staff_user: AbstractBaseUser | None = None,
    reason: str = "",
) -> LedgerEntry:
    """Take back (part of) a refunded top-up, never more than is left of it.

    Data goes down by no more than `max_data`, what that top-up added and was not reversed yet,
    and what the card still has. Expiry moves back by no more than `max_duration` (the caller
    scales the plan's duration to the refund) and never before `now`; an expired card keeps its
    expiry.
    """
    _require_transaction()
    topup = LedgerEntry.objects.filter(card=card, kind=Kind.TOPUP, order_id=order_id).first()
    if topup is None:
        raise LedgerError(
            _("Order %(order)s never topped up card %(card)s.") % {"order": order_id, "card": card.pk}
        )
    if max_data < 0 or max_duration < timedelta(0):
        raise LedgerError(_("A reversal cannot add data or time."))
    earlier = LedgerEntry.objects.filter(card=card, kind=Kind.REFUND_REVERSAL, order_id=order_id)
    data_reversed = -sum(entry.data_delta for entry in earlier)

    data_back = min(max_data, max(topup.data_delta - data_reversed, 0), card.data_remaining_at(now))
    new_expiry = card.expires_at
    if card.expires_at is not None and card.expires_at > now:
        new_expiry = max(card.expires_at - max_duration, now)
    if data_back > 0:
        card.period_allowance = max(card.period_allowance - data_back, 0)
    return ledger_append(
        card=card,
        kind=Kind.REFUND_REVERSAL,
        data_delta=-data_back,
        expires_after=new_expiry,
        now=now,
        order_id=order_id,
        staff_user=staff_user,
        reason=reason,
    )


def card_restore_reversal(
    *,
    card: Card,
    order_id: int,
    data: int,
    duration: timedelta,
    now: datetime,
    reason: str = "",
) -> LedgerEntry:
    """Give back what a refund's reversal took, when that refund is undone (it failed at the bank,
    or a dispute was won): a `refund_reversal` entry in the other direction.

    An active card gets the data and the time back on top of what it has. A card that has expired
    since was cut short by the reversal, so it gets the time back from now (with the data); its
    old period is forfeited first, as a renewal would.
    """
    _require_transaction()
    if data < 0 or duration < timedelta(0):
        raise LedgerError(_("A restoration cannot take data or time."))
    if not LedgerEntry.objects.filter(card=card, kind=Kind.TOPUP, order_id=order_id).exists():
        raise LedgerError(
            _("Order %(order)s never topped up card %(card)s.") % {"order": order_id, "card": card.pk}
        )
    new_expiry: datetime | None
    if card.expires_at is not None and card.expires_at > now:
        new_expiry = card.expires_at + duration
    elif duration > timedelta(0):
        _forfeit_if_unswept(card=card, now=now)
        new_expiry = now + duration
        card.period_started_at = now
        card.period_allowance = 0
        card.overage_bytes = 0
    else:
        new_expiry, data = card.expires_at, 0  # no time to use it in: data on an expired card is forfeit
    card.period_allowance += data
    return ledger_append(
        card=card,
        kind=Kind.REFUND_REVERSAL,
        data_delta=data,
        expires_after=new_expiry,
        now=now,
        order_id=order_id,
        reason=reason,
    )


@dataclass(frozen=True)
class LedgerMismatch:
    card_id: int
    iccid: str
    cached_data: int
    ledger_data: int
    cached_expires_at: datetime | None
    ledger_expires_at: datetime | None

    def __str__(self) -> str:
        return (
            f"card {self.card_id} ({self.iccid}): cached {self.cached_data} B, expires "
            f"{_iso(self.cached_expires_at)}; ledger says {self.ledger_data} B, expires "
            f"{_iso(self.ledger_expires_at)}"
        )


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else "never"


def ledgers_check() -> list[LedgerMismatch]:
    """Every card whose cached data or expiry differs from the fold of its ledger."""
    entries = LedgerEntry.objects.filter(card=OuterRef("pk"))
    totals = entries.order_by().values("card").annotate(total=Sum("data_delta")).values("total")
    last_expiry = entries.order_by("-id").values("expires_after")[:1]
    cards = (
        Card.objects.annotate(ledger_data=Subquery(totals), ledger_expires_at=Subquery(last_expiry))
        .values_list("id", "iccid", "data_remaining", "expires_at", "ledger_data", "ledger_expires_at")
        .order_by("id")
    )
    mismatches = []
    for card_id, iccid, data, expires_at, ledger_data, ledger_expires_at in cards.iterator(chunk_size=5000):
        ledger_data = ledger_data or 0
        if data != ledger_data or expires_at != ledger_expires_at:
            mismatches.append(
                LedgerMismatch(card_id, iccid, data, ledger_data, expires_at, ledger_expires_at)
            )
    return mismatches


@dataclass(frozen=True)
class UsageLinkProblems:
    """What `usage_links_check` found: counts, and the first record ids of each kind."""

    without_card: int  # the record's card does not exist
    without_card_examples: list[str]
    unlinked: int  # the card exists; the record's entry is missing, not `usage`, or another card's
    unlinked_examples: list[str]

    def __bool__(self) -> bool:
        return bool(self.without_card or self.unlinked)


def usage_links_check(*, limit: int = 20) -> UsageLinkProblems:
    """Usage records whose card does not exist, and records whose ledger entry is missing, not a
    `usage` entry, or another card's.

    Neither link has a database constraint (see UsageRecord.card and UsageRecord.ledger_entry): this
    is their check. A record without a card is counted there only, not again as unlinked.
    """
    card = Card.objects.filter(pk=OuterRef("card_id"))
    entry = LedgerEntry.objects.filter(
        pk=OuterRef("ledger_entry_id"), card_id=OuterRef("card_id"), kind=Kind.USAGE
    )
    without_card, without_card_examples = _count_with_examples(
        UsageRecord.objects.filter(~Exists(card)), limit=limit
    )
    unlinked, unlinked_examples = _count_with_examples(
        UsageRecord.objects.filter(~Exists(entry), Exists(card)), limit=limit
    )
    return UsageLinkProblems(without_card, without_card_examples, unlinked, unlinked_examples)


def _count_with_examples(wrong: QuerySet[UsageRecord], *, limit: int) -> tuple[int, list[str]]:
    count = wrong.count()  # one anti-join over every record
    # Asked only when some are wrong: with ORDER BY and LIMIT, PostgreSQL expects to stop early and
    # may probe row by row, which takes minutes on millions of records.
    examples = list(wrong.order_by("id").values_list("record_id", flat=True)[:limit]) if count else []
    return count, examples


# --- Expiry -----------------------------------------------------------------------------------

# Periods that ended longer ago than this are left alone: bounds the sweep's work (it runs every
# minute) while tolerating a week of downtime. The dashboard shows expired data as zero anyway.
SWEEP_LOOKBACK = timedelta(days=7)
SWEEP_DUE = "usage_sweep_due"


def cards_expire(*, now: datetime) -> int:
    """Forfeit the unused data of every period that has ended: one `expiry_forfeit` entry each.

    Set-based: a few statements whatever the number of cards (one on PostgreSQL). Safe to run late
    or twice: the partial unique constraint `ledger_one_forfeit_per_period` admits one forfeit per
    period. Returns the number of periods closed by this run.
    """
    tables = {
        "card": Card._meta.db_table,
        "ledger": LedgerEntry._meta.db_table,
        "event": ProvisioningEvent._meta.db_table,
    }
    adapt = connection.ops.adapt_datetimefield_value
    state = initial_state()
    params = {
        "now": adapt(now),
        "since": adapt(now - SWEEP_LOOKBACK),
        "kind": Kind.EXPIRY_FORFEIT,
        "state": state,
        "occurred_at": carrier_time(now),
    }
    # OFFSET 0 keeps this a per-card probe of ledger_one_forfeit_per_period: as an anti-join, stale
    # statistics right after a big sweep (many cards sharing one expiry) make PostgreSQL merge on
    # the expiry alone, which is quadratic.
    due = (
        f"c.expires_at <= %(now)s AND c.expires_at > %(since)s AND NOT EXISTS (SELECT 1 FROM {tables['ledger']} f"
        f" WHERE f.card_id = c.id AND f.kind = %(kind)s AND f.expires_before = c.expires_at LIMIT 1 OFFSET 0)"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            closed = _cards_expire_postgresql(cursor, tables=tables, due=due, params=params)
        else:
            closed = _cards_expire_portable(cursor, tables=tables, due=due, params=params)
        if closed and state == ProvisioningEvent.State.PENDING:
            transaction.on_commit(provisioning_events_enqueue_due)
    return closed


def _cards_expire_postgresql(cursor: CursorWrapper, *, tables: dict, due: str, params: dict) -> int:
    """Lock the due cards (in id order, as usage ingestion does), forfeit, zero and record the
    provisioning events in one statement; a renewal that commits first takes its card out of it."""
    payload = provisioning_payload_sql(
        postgresql=True, entry="ins", card="due", occurred_at="%(occurred_at)s"
    )
    cursor.execute(
        f"WITH due AS ("
        f"  SELECT c.id, c.iccid, c.data_remaining, c.expires_at, c.suspended_at FROM {tables['card']} c"
        f"  WHERE {due} ORDER BY c.id FOR UPDATE OF c"
        f"), ins AS ("
        f"  INSERT INTO {tables['ledger']} (card_id, kind, data_delta, data_after, expires_before,"
        f"   expires_after, reason, created_at)"
        f"  SELECT id, %(kind)s, -data_remaining, 0, expires_at, expires_at, '', %(now)s FROM due ORDER BY id"
        f"  ON CONFLICT DO NOTHING RETURNING id, card_id, kind, data_after, expires_after"
        f"), zeroed AS ("
        f"  UPDATE {tables['card']} c SET data_remaining = 0 FROM ins WHERE c.id = ins.card_id RETURNING c.id"
        f") INSERT INTO {tables['event']} (ledger_entry_id, card_id, payload, state, attempts, last_error,"
        f"  created_at)"
        f" SELECT ins.id, ins.card_id, {payload}, %(state)s, 0, '', %(now)s"
        f" FROM ins JOIN due ON due.id = ins.card_id ORDER BY ins.id",
        params,
    )
    return cursor.rowcount


def _cards_expire_portable(cursor: CursorWrapper, *, tables: dict, due: str, params: dict) -> int:
    """SQLite: the write transaction holds the whole database, so no row locks are needed."""
    card, ledger = tables["card"], tables["ledger"]
    cursor.execute(f"DROP TABLE IF EXISTS {SWEEP_DUE}")
    cursor.execute(f"CREATE TEMPORARY TABLE {SWEEP_DUE} (id bigint PRIMARY KEY)")
    cursor.execute(f"INSERT INTO {SWEEP_DUE} (id) SELECT c.id FROM {card} c WHERE {due}", params)
    cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {ledger}")
    (last_before,) = cursor.fetchone()
    cursor.execute(
        f"INSERT INTO {ledger} (card_id, kind, data_delta, data_after, expires_before, expires_after,"
        f" reason, created_at)"
        f" SELECT c.id, %(kind)s, -c.data_remaining, 0, c.expires_at, c.expires_at, '', %(now)s"
        f" FROM {card} c JOIN {SWEEP_DUE} d ON d.id = c.id ORDER BY c.id",
        params,
    )
    closed = cursor.rowcount
    ours = (
        f"{ledger} l JOIN {SWEEP_DUE} d ON d.id = l.card_id JOIN {card} c ON c.id = l.card_id"
        f" WHERE l.id > %(last_before)s AND l.kind = %(kind)s"
    )
    params = {**params, "last_before": last_before}
    cursor.execute(f"UPDATE {card} SET data_remaining = 0 WHERE id IN (SELECT l.card_id FROM {ours})", params)
    payload = provisioning_payload_sql(postgresql=False, entry="l", card="c", occurred_at="%(occurred_at)s")
    cursor.execute(
        f"INSERT INTO {tables['event']} (ledger_entry_id, card_id, payload, state, attempts, last_error,"
        f" created_at) SELECT l.id, l.card_id, {payload}, %(state)s, 0, '', %(now)s FROM {ours} ORDER BY l.id",
        params,
    )
    cursor.execute(f"DROP TABLE {SWEEP_DUE}")
    return closed
