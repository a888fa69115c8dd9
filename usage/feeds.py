# ruff: noqa: S608 -- SQL is assembled from model table names and constants; values are parameters.
"""Usage in: carrier usage records applied once per record id, set-based.

A batch is validated in Python, staged in a temporary table (COPY on PostgreSQL), and applied with
a handful of statements whatever its size: one `usage` ledger entry per card, the new usage
records (each pointing at its card's entry), one UPDATE of the cards. The card rows are locked
first, so ledger entries and the cached balance agree with concurrent top-ups.

Which data a record draws from (attributed to the validity period in which it started):
- started inside the card's current period (period start <= start < expiry): draws from the data
  remaining, down to zero; anything beyond is overage, kept on the record and the card.
- started at or after expiry, or on a card never topped up: draws nothing, all overage (the
  network should not have carried it).
- started before the current period began (a late record of an earlier period, delivered after a
  renewal that opened a new period): draws nothing from the new period's data, no overage; that
  period's balance was settled when it expired.
"""

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple, cast

from django.db import IntegrityError, connection, transaction
from django.db.backends.utils import CursorWrapper

from usage.models import Card, LedgerEntry, UsageRecord

TIMESTAMP_HEADER = "X-Carrier-Timestamp"
SIGNATURE_HEADER = "X-Carrier-Signature"
SIGNATURE_TOLERANCE = timedelta(minutes=5)
# A record may end a little in the future (clock skew between carrier and portal), not more.
FUTURE_TOLERANCE = timedelta(minutes=5)
RECORD_ID_MAX_LENGTH = cast(int, UsageRecord._meta.get_field("record_id").max_length)
MAX_BYTES_PER_RECORD = 10**15  # 1 PB: anything above is a carrier bug, not usage
# Records applied per transaction: larger chunks write fewer ledger entries and card updates (one
# each per card and chunk); 100,000 parsed records hold about 40 MB.
CHUNK_SIZE = 100_000
CONFLICT_RETRIES = 3


@dataclass(frozen=True)
class RecordFailure:
    record_id: str
    error: str
    message: str
    index: int | None = None

    def as_dict(self) -> dict:
        return {
            "index": self.index,
            "record_id": self.record_id,
            "error": self.error,
            "message": self.message,
        }


@dataclass
class UsageApplyResult:
    applied: int = 0
    duplicates: list[str] = field(default_factory=list)
    failures: list[RecordFailure] = field(default_factory=list)

    def merge(self, other: "UsageApplyResult") -> None:
        self.applied += other.applied
        self.duplicates.extend(other.duplicates)
        self.failures.extend(other.failures)


class ParsedRecord(NamedTuple):
    record_id: str
    iccid: str
    start: datetime
    end: datetime
    bytes: int


class RecordInvalid(ValueError):
    def __init__(self, error: str, message: str):
        super().__init__(message)
        self.error = error
        self.message = message


def _at_least_zero(amount: str) -> str:
    """The ledger's zero floor in SQL: a card's data never goes below zero (usage.ledger.ledger_append
    refuses it); what a record uses beyond it is overage."""
    return f"CASE WHEN {amount} > 0 THEN {amount} ELSE 0 END"


# --- Signature --------------------------------------------------------------------------------


def usage_signature(*, body: bytes, timestamp: str, secret: str) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def usage_signature_is_valid(
    *, body: bytes, timestamp: str, signature: str, secret: str, now: datetime
) -> bool:
    """HMAC-SHA256 of "<timestamp>.<raw body>", and a timestamp (Unix seconds) within five minutes."""
    if not secret or not timestamp or not signature:
        return False
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    # Compared as integers: a timestamp of 400 digits must not overflow a float.
    if abs(int(now.timestamp()) - sent_at) > SIGNATURE_TOLERANCE.total_seconds():
        return False
    expected = usage_signature(body=body, timestamp=timestamp, secret=secret)
    return hmac.compare_digest(expected, signature.strip().lower())


# --- Validation -------------------------------------------------------------------------------


def _parse_time(value: object, name: str) -> datetime:
    if type(value) is str or isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise RecordInvalid(f"invalid_{name}", f"{name} is not an ISO 8601 time: {value!r}") from None
    elif isinstance(value, datetime):
        parsed = value
    else:
        raise RecordInvalid(f"invalid_{name}", f"{name} must be an ISO 8601 time with a UTC offset.")
    if parsed.tzinfo is None:
        raise RecordInvalid(f"invalid_{name}", f"{name} must carry a UTC offset (e.g. Z or +01:00).")
    return parsed


def usage_record_parse(raw: Mapping, *, now: datetime) -> ParsedRecord:
    if type(raw) is not dict and not isinstance(raw, Mapping):
        raise RecordInvalid("invalid_record", "Each record must be an object.")
    record_id = raw.get("record_id")
    if isinstance(record_id, int) and not isinstance(record_id, bool):
        record_id = str(record_id)
    if not isinstance(record_id, str) or not record_id.strip():
        raise RecordInvalid("invalid_record_id", "record_id is missing.")
    record_id = record_id.strip()
    if len(record_id) > RECORD_ID_MAX_LENGTH:
        raise RecordInvalid(
            "invalid_record_id", f"record_id is longer than {RECORD_ID_MAX_LENGTH} characters."
        )
    iccid = raw.get("iccid")
    if not isinstance(iccid, str) or not iccid.strip().isdigit():
        raise RecordInvalid("invalid_iccid", "iccid must be a string of digits.")
    start = _parse_time(raw.get("start"), "start")
    end = _parse_time(raw.get("end"), "end")
    if end < start:
        raise RecordInvalid("end_before_start", "end is before start.")
    if end > now + FUTURE_TOLERANCE:
        raise RecordInvalid("in_future", "end is in the future.")
    value = raw.get("bytes")
    if type(value) is str and value.strip().isdigit():
        value = int(value)
    if type(value) is not int or value < 0 or value > MAX_BYTES_PER_RECORD:
        raise RecordInvalid("invalid_bytes", "bytes must be a whole number, zero or more.")
    return ParsedRecord(record_id=record_id, iccid=iccid.strip(), start=start, end=end, bytes=value)


# --- Applying ---------------------------------------------------------------------------------


def usage_records_apply(
    *, records: Iterable[Mapping], now: datetime, durable: bool = True
) -> UsageApplyResult:
    """Apply a batch: good records are applied, repeats reported as duplicates, bad ones as failures.

    `durable=False` lets PostgreSQL acknowledge a commit before its WAL reaches the disk (a crash
    can lose the last fraction of a second of batches, never corrupt them). Only for sources that
    can be replayed, like a file import: re-importing applies exactly what was lost.
    """
    result = UsageApplyResult()
    valid: list[tuple[int, ParsedRecord]] = []
    seen: set[str] = set()
    for index, raw in enumerate(records):
        try:
            record = usage_record_parse(raw, now=now)
        except RecordInvalid as invalid:
            record_id = raw.get("record_id") if isinstance(raw, Mapping) else None
            result.failures.append(RecordFailure(str(record_id or ""), invalid.error, invalid.message, index))
            continue
        if record.record_id in seen:
            result.duplicates.append(record.record_id)
            continue
        seen.add(record.record_id)
        valid.append((index, record))

    for offset in range(0, len(valid), CHUNK_SIZE):
        result.merge(_apply_chunk(valid[offset : offset + CHUNK_SIZE], now=now, durable=durable))
    return result


def _apply_chunk(chunk: list[tuple[int, ParsedRecord]], *, now: datetime, durable: bool) -> UsageApplyResult:
    for attempt in range(CONFLICT_RETRIES):
        try:
            with transaction.atomic():
                if not durable and connection.vendor == "postgresql":
                    with connection.cursor() as cursor:
                        cursor.execute("SET LOCAL synchronous_commit = off")
                return _apply_staged(chunk, now=now)
        except IntegrityError:
            # A concurrent delivery of the same record id (under another card) won the insert.
            if attempt == CONFLICT_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


STAGING = "usage_feed_staging"
EFFECT = "usage_feed_effect"


def _apply_staged(chunk: list[tuple[int, ParsedRecord]], *, now: datetime) -> UsageApplyResult:
    result = UsageApplyResult()
    if not chunk:
        return result
    postgres = connection.vendor == "postgresql"
    card_table = Card._meta.db_table
    record_table = UsageRecord._meta.db_table
    ledger_table = LedgerEntry._meta.db_table
    adapt = connection.ops.adapt_datetimefield_value
    q_end = connection.ops.quote_name("end")
    now_db = adapt(now)
    index_of = {record.record_id: index for index, record in chunk}

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {EFFECT}")
        cursor.execute(f"DROP TABLE IF EXISTS {STAGING}")
        # PostgreSQL: times staged as microseconds since the epoch (cheaper to write than ISO text,
        # exact), read back as timestamps by `staged` below.
        times = "start_us bigint, end_us bigint" if postgres else f"start text, {q_end} text"
        cursor.execute(
            f"CREATE TEMPORARY TABLE {STAGING} (seq bigint, record_id varchar(100), iccid varchar(22),"
            f" {times}, bytes bigint)"
        )
        staged = (
            f"(SELECT seq, record_id, iccid, timestamptz 'epoch' + start_us * interval '1 microsecond' AS start,"
            f" timestamptz 'epoch' + end_us * interval '1 microsecond' AS {q_end}, bytes FROM {STAGING})"
            if postgres
            else STAGING
        )
        _load(cursor, [record for _, record in chunk], postgres=postgres, q_end=q_end)

        cursor.execute(
            f"SELECT s.record_id, s.iccid FROM {STAGING} s"
            f" WHERE NOT EXISTS (SELECT 1 FROM {card_table} c WHERE c.iccid = s.iccid)"
        )
        unknown = cursor.fetchall()
        if unknown:
            for record_id, iccid in unknown:
                result.failures.append(
                    RecordFailure(
                        record_id, "unknown_iccid", f"No card has ICCID {iccid}.", index_of[record_id]
                    )
                )
            cursor.execute(
                f"DELETE FROM {STAGING}"
                f" WHERE NOT EXISTS (SELECT 1 FROM {card_table} c WHERE c.iccid = {STAGING}.iccid)"
            )

        if postgres:
            cursor.execute(
                f"SELECT c.id FROM {card_table} c WHERE c.iccid IN (SELECT iccid FROM {STAGING})"
                " ORDER BY c.id FOR UPDATE OF c"
            )
        cursor.execute(
            f"SELECT s.record_id FROM {STAGING} s WHERE EXISTS"
            f" (SELECT 1 FROM {record_table} u WHERE u.record_id = s.record_id)"
        )
        result.duplicates.extend(record_id for (record_id,) in cursor.fetchall())
        if result.duplicates:
            cursor.execute(
                f"DELETE FROM {STAGING} WHERE EXISTS"
                f" (SELECT 1 FROM {record_table} u WHERE u.record_id = {STAGING}.record_id)"
            )

        # What each record draws, in the order it was used: a running sum per card, floored at zero.
        # category 0: drawn from the current period; 1: after expiry / never topped up (overage);
        # 2: a late record from an earlier period (nothing drawn, no overage).
        category = (
            "CASE WHEN c.expires_at IS NULL OR s.start >= c.expires_at THEN 1"
            " WHEN c.period_started_at IS NOT NULL AND s.start < c.period_started_at THEN 2 ELSE 0 END"
        )
        drawn = f"CASE WHEN ({category}) = 0 THEN s.bytes ELSE 0 END"
        cursor.execute(
            f"CREATE TEMPORARY TABLE {EFFECT} AS"
            f" SELECT w.*,"
            f"  {_at_least_zero('w.remaining - w.cumulative')} AS data_after,"
            f"  {_at_least_zero('w.remaining - w.cumulative + w.drawn')} AS data_before"
            f" FROM (SELECT s.seq, s.record_id, c.id AS card_id, s.start, s.{q_end} AS finish, s.bytes,"
            f"  c.expires_at, c.data_remaining AS remaining, {category} AS category, {drawn} AS drawn,"
            f"  SUM({drawn}) OVER (PARTITION BY c.id ORDER BY s.start, s.seq"
            f"   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cumulative"
            f"  FROM {staged} s JOIN {card_table} c ON c.iccid = s.iccid) w"
        )
        overage = (
            "CASE e.category WHEN 0 THEN e.drawn - (e.data_before - e.data_after)"
            " WHEN 1 THEN e.bytes ELSE 0 END"
        )
        # One `usage` entry per card for the whole batch, inserted first; each record points at its
        # card's entry. The entry's data_delta is what the batch drew, down to the card's final balance.
        insert_entries = (
            f"INSERT INTO {ledger_table} (card_id, kind, data_delta, data_after, expires_before, expires_after,"
            f" reason, created_at)"
            f" SELECT e.card_id, %s, MIN(e.data_after) - MAX(e.remaining), MIN(e.data_after),"
            f"  MAX(e.expires_at), MAX(e.expires_at), '', %s"
            f" FROM {EFFECT} e GROUP BY e.card_id ORDER BY e.card_id"
        )
        record_columns = (
            f"INSERT INTO {record_table}"
            f" (record_id, card_id, ledger_entry_id, start, {q_end}, bytes, overage_bytes, received_at)"
        )
        if postgres:
            # One statement: the entries' ids come back from their insert, no second index probe.
            cursor.execute(
                f"WITH l AS ({insert_entries} RETURNING id, card_id)"
                f" {record_columns} SELECT e.record_id, e.card_id, l.id, e.start, e.finish, e.bytes,"
                f"  {overage}, %s FROM {EFFECT} e JOIN l ON l.card_id = e.card_id"
                f" ORDER BY e.card_id, e.start, e.seq",
                [LedgerEntry.Kind.USAGE, now_db, now_db],
            )
        else:
            # SQLite has one writer at a time: a card's newest usage entry is the one just written.
            cursor.execute(insert_entries, [LedgerEntry.Kind.USAGE, now_db])
            cursor.execute(
                f"{record_columns} SELECT e.record_id, e.card_id,"
                f"  (SELECT MAX(l.id) FROM {ledger_table} l WHERE l.card_id = e.card_id AND l.kind = %s),"
                f"  e.start, e.finish, e.bytes, {overage}, %s FROM {EFFECT} e"
                f" ORDER BY e.card_id, e.start, e.seq",
                [LedgerEntry.Kind.USAGE, now_db],
            )
        result.applied = cursor.rowcount
        cursor.execute(
            f"UPDATE {card_table} SET data_remaining = a.data_after,"
            f" overage_bytes = {card_table}.overage_bytes + a.overage, usage_updated_at = %s"
            f" FROM (SELECT e.card_id, MIN(e.data_after) AS data_after, SUM({overage}) AS overage"
            f"  FROM {EFFECT} e GROUP BY e.card_id) a"
            f" WHERE {card_table}.id = a.card_id",
            [now_db],
        )
        cursor.execute(f"DROP TABLE {EFFECT}")
        cursor.execute(f"DROP TABLE {STAGING}")
    return result


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _load(cursor: CursorWrapper, records: list[ParsedRecord], *, postgres: bool, q_end: str) -> None:
    if postgres:
        # COPY's text format written by hand: several times faster than adapting row by row; times
        # as integer microseconds since the epoch (a quarter of the cost of isoformat()).
        with cursor.cursor.copy(
            f"COPY {STAGING} (seq, record_id, iccid, start_us, end_us, bytes) FROM STDIN"
        ) as copy:
            lines = []
            for seq, r in enumerate(records):
                record_id = r.record_id.translate(_COPY_ESCAPES)
                lines.append(
                    f"{seq}\t{record_id}\t{r.iccid}\t{(r.start - _EPOCH) // _MICROSECOND}"
                    f"\t{(r.end - _EPOCH) // _MICROSECOND}\t{r.bytes}\n"
                )
                if len(lines) == 5000:
                    copy.write("".join(lines))
                    lines = []
            copy.write("".join(lines))
    else:
        adapt = connection.ops.adapt_datetimefield_value
        columns = f"(seq, record_id, iccid, start, {q_end}, bytes)"
        cursor.executemany(
            f"INSERT INTO {STAGING} {columns} VALUES (%s, %s, %s, %s, %s, %s)",
            [
                (seq, r.record_id, r.iccid, adapt(r.start), adapt(r.end), r.bytes)
                for seq, r in enumerate(records)
            ],
        )
