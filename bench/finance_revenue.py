"""Finance revenue page for one year of 1,000,000 orders on PostgreSQL.

    .venv/bin/python bench/finance_revenue.py [--orders 1000000] [--users 100000] [--repeat 5]

Creates a throwaway database, fills it with the export benchmark's orders (set-based), then times,
in-process and in the same run:
  - the revenue page for 2026 (the finance view called with a finance clerk's request: its queries,
    the report and the rendered page), best and median of --repeat runs, its size and query count;
  - baseline: the bare SQL sum of the same year per Monaco day, straight from the orders table
    (`GROUP BY (paid_at AT TIME ZONE 'Europe/Monaco')::date`), the database's own cost of the figures.
Target: the page under 500 ms.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from export_orders import FILL
from ledger_benchdb import throwaway_database

TARGET_MS = 500
START, END = "2026-01-01", "2026-12-31"

BASELINE_SQL = """
SELECT (paid_at AT TIME ZONE 'Europe/Monaco')::date AS day, count(*),
       sum(amount_charged_cents + wallet_applied_cents), sum(refunded_amount_cents)
FROM billing_order
WHERE paid_at >= %s AND paid_at < %s AND status IN ('paid', 'fulfilled', 'refunded', 'partially_refunded', 'disputed')
GROUP BY 1 ORDER BY 1
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the database (bench_finance_revenue)")
    parser.add_argument("--reuse", action="store_true", help="measure again on a database kept by --keep")
    args = parser.parse_args()

    name = "bench_finance_revenue" if args.keep or args.reuse else f"bench_finance_revenue_{os.getpid()}"
    with throwaway_database(name, keep=args.keep or args.reuse, reuse=args.reuse):
        from datetime import date

        from django.contrib.auth.models import AnonymousUser  # noqa: F401 (Django is set up)
        from django.db import connection, reset_queries
        from django.test import RequestFactory
        from django.test.utils import CaptureQueriesContext

        from accounts.models import User
        from billing.exports import monaco_day_bounds
        from support import finance_views

        if not args.reuse:
            started = time.perf_counter()
            users = min(args.users, args.orders)
            with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as filler:
                filler.execute(FILL.replace("%(orders)s", str(args.orders)).replace("%(users)s", str(users)))
            print(f"filled {args.orders:,} orders in {time.perf_counter() - started:.1f} s", flush=True)

        clerk, _created = User.objects.get_or_create(
            email="finance-bench@example.com", defaults={"is_staff": True, "is_superuser": True}
        )
        request_factory = RequestFactory()
        lower, upper = monaco_day_bounds(date.fromisoformat(START), date.fromisoformat(END))

        def page() -> tuple[float, int, int]:
            request = request_factory.get("/finance/revenue/", {"start": START, "end": END})
            request.user = clerk
            request.session = {}
            began = time.perf_counter()
            with CaptureQueriesContext(connection) as queries:
                response = finance_views.revenue(request)
            elapsed = time.perf_counter() - began
            assert response.status_code == 200, response.status_code
            return elapsed, len(response.content), len(queries)

        def baseline() -> float:
            began = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute(BASELINE_SQL, [lower, upper])
                days = cursor.fetchall()
            assert len(days) >= 350, len(days)
            return time.perf_counter() - began

        page()  # warm-up: caches, templates, the planner's statistics
        baseline()
        page_runs, baseline_runs = [], []
        for _run in range(args.repeat):
            baseline_runs.append(baseline())
            page_runs.append(page())
            reset_queries()
        seconds = [elapsed for elapsed, _size, _queries in page_runs]
        _elapsed, size, query_count = page_runs[-1]
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + BASELINE_SQL.replace("%s", "%s"), [lower, upper])
            plan = "\n".join(line for (line,) in cursor.fetchall())

    best, median = min(seconds) * 1000, statistics.median(seconds) * 1000
    baseline_ms = min(baseline_runs) * 1000
    print(f"{args.orders:,} orders, revenue for {START} .. {END}")
    print(f"baseline plan (bare per-day SQL):\n{plan}")
    print(
        f"revenue page: best {best:.0f} ms, median {median:.0f} ms, {size / 1000:.0f} KB,"
        f" {query_count} queries (target < {TARGET_MS} ms: {'met' if median < TARGET_MS else 'MISSED'})"
    )
    print(f"baseline (bare per-day SQL over the same year): {baseline_ms:.0f} ms")
    print(f"ratio page/baseline: {median / baseline_ms:.2f}x the time")


if __name__ == "__main__":
    main()
