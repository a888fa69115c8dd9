"""Expiry sweep: 100,000 cards expiring at once, forfeited by cards_expire on PostgreSQL.

Baseline, measured in the same run on the same rows and rolled back: the bare minimum a sweep
must do, one INSERT ... SELECT of the forfeit entries and one UPDATE zeroing the cards, with the
constraint checks a commit would run (SET CONSTRAINTS ALL IMMEDIATE). The sweep is timed the same
way (rolled back after its checks), interleaved with the baseline, best of --rounds each; then it
runs once for real (committed) for the consistency checks and the second, empty run. The
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
TARGET_RATIO = 2.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of baseline and sweep")
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

        def bare_sql() -> float:
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
                # The checks a commit would run (the entries' foreign keys), then roll back.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                seconds = time.perf_counter() - began
                transaction.set_rollback(True)
            return seconds

        def bare_sql_with_events() -> float:
            """The same two writes plus the provisioning events the domain requires, each with a
            plain jsonb payload: what the sweep's own work costs the database, without its guards."""
            with transaction.atomic(), connection.cursor() as cursor:
                began = time.perf_counter()
                cursor.execute(
                    "WITH ins AS (INSERT INTO usage_ledgerentry (card_id, kind, data_delta, data_after,"
                    " expires_before, expires_after, reason, created_at)"
                    " SELECT id, 'expiry_forfeit', -data_remaining, 0, expires_at, expires_at, '', %s"
                    " FROM usage_card WHERE expires_at <= %s RETURNING id, card_id)"
                    " INSERT INTO usage_provisioningevent (ledger_entry_id, card_id, payload, state, attempts,"
                    " last_error, created_at)"
                    " SELECT id, card_id, jsonb_build_object('ledger_entry_id', id), 'pending', 0, '', %s FROM ins",
                    [now, now, now],
                )
                cursor.execute("UPDATE usage_card SET data_remaining = 0 WHERE expires_at <= %s", [now])
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                seconds = time.perf_counter() - began
                transaction.set_rollback(True)
            return seconds

        def sweep_rolled_back() -> float:
            with transaction.atomic(), connection.cursor() as cursor:
                began = time.perf_counter()
                assert cards_expire(now=now) == args.cards
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                seconds = time.perf_counter() - began
                transaction.set_rollback(True)
            return seconds

        # Interleaved, best of --rounds each: a load burst on the shared machine hits both.
        baseline_runs, sweep_runs, with_events_runs = [], [], []
        for _round in range(args.rounds):
            baseline_runs.append(bare_sql())
            sweep_runs.append(sweep_rolled_back())
            with_events_runs.append(bare_sql_with_events())
        baseline_seconds, rolled_back_seconds = min(baseline_runs), min(sweep_runs)

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

    ratio = rolled_back_seconds / baseline_seconds
    print(
        f"expiry sweep: {closed:,} cards forfeited in {rolled_back_seconds:.2f} s"
        f" (best of {args.rounds}, rolled back after its constraint checks; the committed sweep took"
        f" {seconds:.2f} s) (target <= {TARGET_RATIO:.0f}x bare SQL: {'met' if ratio <= TARGET_RATIO else 'MISSED'})"
    )
    print(
        f"baseline (bare INSERT ... SELECT + UPDATE of the same rows, with their constraint checks):"
        f" {baseline_seconds:.2f} s (runs: {', '.join(f'{run:.2f}' for run in baseline_runs)};"
        f" sweep runs: {', '.join(f'{run:.2f}' for run in sweep_runs)})"
    )
    print(f"ratio service/baseline: {ratio:.2f}x the time")
    print(
        f"for comparison, bare SQL with the provisioning events too: {min(with_events_runs):.2f} s"
        f" (runs: {', '.join(f'{run:.2f}' for run in with_events_runs)});"
        f" sweep against it: {rolled_back_seconds / min(with_events_runs):.2f}x"
    )
    print(f"second run (nothing due): {again} forfeited in {repeat_seconds:.2f} s")
    print(
        f"checks: {forfeits:,} forfeit entries, {events:,} provisioning events, {zeroed:,} cards at zero,"
        f" {len(mismatches)} card(s) disagreeing with their ledger"
    )
    if closed != args.cards or again or forfeits != args.cards or events != args.cards or mismatches:
        sys.exit(1)


if __name__ == "__main__":
    main()
