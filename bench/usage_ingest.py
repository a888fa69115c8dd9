"""Usage ingestion: 1,000,000 carrier records through usage_records_apply into PostgreSQL.

Baseline, measured in the same run: COPY of the same rows into a bare copy of the usage record
table (same indexes), which is the floor for storing them at all. The service does more: it
validates each record, dedupes, locks cards, writes one `usage` ledger entry per card and batch
(each record points at it) and updates each card's cache. Generating the synthetic records is not
timed, in either run.

    .venv/bin/python bench/usage_ingest.py [--records 1000000] [--cards 10000] [--chunk 100000]
"""

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ledger_benchdb import cards_create, throwaway_database

GB = 1_000_000_000
TARGET_RATIO = 0.5


def records(count: int, cards: int, start: datetime, seed: int = 1):
    rng = random.Random(seed)
    for number in range(count):
        card = rng.randrange(cards)
        begin = start + timedelta(seconds=rng.randrange(6 * 86_400))
        yield {
            "record_id": f"cdr-{number:010d}",
            "iccid": f"89377{card:014d}",
            "start": begin.isoformat(),
            "end": (begin + timedelta(minutes=rng.randint(1, 59))).isoformat(),
            "bytes": rng.randint(10_000, 50_000_000),
        }


def chunked(iterable, size):
    chunk = []
    for item in iterable:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--cards", type=int, default=10_000)
    parser.add_argument("--chunk", type=int, default=100_000)
    parser.add_argument(
        "--durable",
        action="store_true",
        help="Wait for every batch to reach the disk, as the HTTP endpoint does (import_usage does not).",
    )
    args = parser.parse_args()

    with throwaway_database(f"bench_ledger_usage_ingest_{os.getpid()}"):
        from django.db import connection, transaction

        from usage import feeds
        from usage.ledger import ledgers_check, usage_links_check
        from usage.models import LedgerEntry, UsageRecord

        start = datetime(2026, 11, 1, tzinfo=UTC)
        now = start + timedelta(days=6, hours=2)
        cards_create(args.cards, allowance=1000 * GB, start=start, expires_at=start + timedelta(days=30))

        # Baseline: COPY the same rows, in COPY's text format, into a bare table with the usage
        # record table's indexes, committed the same way as the service's batches.
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE baseline_usage (LIKE usage_usagerecord INCLUDING ALL)")
            cursor.execute("SELECT id, iccid FROM usage_card")
            card_ids = {iccid: card_id for card_id, iccid in cursor.fetchall()}
        received = now.isoformat()
        # Only the storing is timed, in both runs: generating the synthetic records is the bench's
        # own work (the carrier's, in real life), the same for both.
        baseline_seconds = 0.0
        for chunk in chunked(records(args.records, args.cards, start), args.chunk):
            began = time.perf_counter()
            with transaction.atomic(), connection.cursor() as cursor:
                if not args.durable:
                    cursor.execute("SET LOCAL synchronous_commit = off")
                with cursor.cursor.copy(
                    "COPY baseline_usage"
                    ' (record_id, card_id, ledger_entry_id, start, "end", bytes, overage_bytes, received_at)'
                    " FROM STDIN"
                ) as copy:
                    copy.write(
                        "".join(
                            # The bare table has no foreign keys: the card id stands in for an entry id.
                            f"{r['record_id']}\t{card_ids[r['iccid']]}\t{card_ids[r['iccid']]}\t{r['start']}"
                            f"\t{r['end']}\t{r['bytes']}\t0\t{received}\n"
                            for r in chunk
                        )
                    )
            baseline_seconds += time.perf_counter() - began
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE baseline_usage")

        feeds.CHUNK_SIZE = args.chunk
        applied = 0
        seconds = 0.0
        for chunk in chunked(records(args.records, args.cards, start), args.chunk):
            began = time.perf_counter()
            result = feeds.usage_records_apply(records=chunk, now=now, durable=args.durable)
            seconds += time.perf_counter() - began
            applied += result.applied
            assert not result.failures, result.failures[:3]

        # Delivering the first 100,000 again: all duplicates, nothing applied.
        repeat = min(100_000, args.records)
        repeat_seconds = 0.0
        for chunk in chunked(records(repeat, args.cards, start), args.chunk):
            began = time.perf_counter()
            result = feeds.usage_records_apply(records=chunk, now=now)
            repeat_seconds += time.perf_counter() - began
            assert result.applied == 0 and len(result.duplicates) == len(chunk)

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # what autovacuum does after a million new rows
        began = time.perf_counter()
        mismatches = ledgers_check()
        links = usage_links_check()
        check_seconds = time.perf_counter() - began
        usage_entries = LedgerEntry.objects.filter(kind="usage").count()
        stored = UsageRecord.objects.count()

    rate = applied / seconds
    baseline_rate = args.records / baseline_seconds
    mode = (
        "durable commits, as the HTTP endpoint" if args.durable else "asynchronous commits, as import_usage"
    )
    print(f"mode: {mode}")
    ratio = rate / (args.records / baseline_seconds)
    print(
        f"usage ingest: {applied:,} records in {seconds:.2f} s = {rate:,.0f} records/s"
        f" (target >= {TARGET_RATIO}x the COPY baseline: {'met' if ratio >= TARGET_RATIO else 'MISSED'})"
    )
    print(
        f"baseline (COPY of the same rows into a bare indexed table): {baseline_seconds:.2f} s"
        f" = {baseline_rate:,.0f} rows/s"
    )
    print(f"ratio service/baseline: {rate / baseline_rate:.2f}")
    print(
        f"re-delivery of {repeat:,} records (all duplicates): {repeat_seconds:.2f} s"
        f" = {repeat / repeat_seconds:,.0f} records/s"
    )
    print(
        f"checks: {stored:,} usage records, {usage_entries:,} usage ledger entries,"
        f" {len(mismatches)} card(s) disagreeing with their ledger, {links.without_card} record(s) of no"
        f" card, {links.unlinked} record(s) not linked to their card's usage entry"
        f" (check_ledgers took {check_seconds:.1f} s)"
    )
    if mismatches or links or stored != args.records:
        sys.exit(1)


if __name__ == "__main__":
    main()
