"""Expiry sweep: 100,000 cards expiring at once, forfeited by cards_expire on PostgreSQL.

Baseline, measured in the same run on the same rows and rolled back: the bare minimum a sweep
must do, one INSERT ... SELECT of the forfeit entries and one UPDATE zeroing the cards. The
service also locks the cards, guards against double forfeits and writes a provisioning event per
forfeit. 100,000 more cards that are not due sit in the same tables.

    .venv/bin/python bench/expiry_sweep.py [--cards 100000]
"""

import argparse
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ledger_benchdb import cards_create, throwaway_database

GB = 1_000_000_000
TARGET_SECONDS = 10.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=100_000)
    args = parser.parse_args()

    with throwaway_database(f"bench_ledger_expiry_sweep_{os.getpid()}"):
        from django.db import connection, transaction

        from usage.ledger import cards_expire, ledgers_check
        from usage.models import Card, LedgerEntry, ProvisioningEvent

        start = datetime(2026, 11, 1, tzinfo=UTC)
        expiry = start + timedelta(days=7)
        now = expiry + timedelta(minutes=1)
        cards_create(args.cards, allowance=5 * GB, start=start, expires_at=expiry, prefix="89377")
        cards_create(
            args.cards, allowance=5 * GB, start=start, expires_at=expiry + timedelta(days=1), prefix="89378"
        )

        with transaction.atomic(), connection.cursor() as cursor:
            began = time.perf_counter()
            cursor.execute(
                "INSERT INTO usage_ledgerentry (card_id, kind, data_delta, data_after, expires_before,"
                " expires_after, reason, created_at)"
                " SELECT id, 'expiry_forfeit', -data_remaining, 0, expires_at, expires_at, '', %s"
                " FROM usage_card WHERE expires_at <= %s",
                [now, now],
            )
            cursor.execute("UPDATE usage_card SET data_remaining = 0 WHERE expires_at <= %s", [now])
            baseline_seconds = time.perf_counter() - began
            transaction.set_rollback(True)

        began = time.perf_counter()
        closed = cards_expire(now=now)
        seconds = time.perf_counter() - began

        began = time.perf_counter()
        again = cards_expire(now=now + timedelta(minutes=1))
        repeat_seconds = time.perf_counter() - began

        mismatches = ledgers_check()
        forfeits = LedgerEntry.objects.filter(kind="expiry_forfeit").count()
        events = ProvisioningEvent.objects.filter(ledger_entry__kind="expiry_forfeit").count()
        zeroed = Card.objects.filter(expires_at__lte=now, data_remaining=0).count()

    print(
        f"expiry sweep: {closed:,} cards forfeited in {seconds:.2f} s"
        f" (target < {TARGET_SECONDS:.0f} s: {'met' if seconds < TARGET_SECONDS else 'MISSED'})"
    )
    print(f"baseline (bare INSERT ... SELECT + UPDATE of the same rows): {baseline_seconds:.2f} s")
    print(f"ratio service/baseline: {seconds / baseline_seconds:.2f}x the time")
    print(f"second run (nothing due): {again} forfeited in {repeat_seconds:.2f} s")
    print(
        f"checks: {forfeits:,} forfeit entries, {events:,} provisioning events, {zeroed:,} cards at zero,"
        f" {len(mismatches)} card(s) disagreeing with their ledger"
    )
    if closed != args.cards or again or forfeits != args.cards or events != args.cards or mismatches:
        sys.exit(1)


if __name__ == "__main__":
    main()
