"""Finance export of 1,000,000 orders on PostgreSQL: the portal's CSV export against COPY.

    .venv/bin/python bench/export_orders.py [--orders 1000000] [--keep]

Creates a throwaway database (bench_export), fills it with orders set-based, then in the same run
times, each in its own process so its peak memory is its own:
  - `manage.py export_orders` (the code behind the finance page: server-side cursor, CSV with BOM,
    formula neutralisation, Monaco times, per-order VAT), and
  - psql running the same `COPY (SELECT ...) TO STDOUT` the export sends on PostgreSQL (the CSV
    lines formatted by the database), into a file: the database's own limit for these rows.
Prints wall time and peak RSS of both and the ratio. Targets: export <= 1.5x COPY, peak RSS < 200 MB.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
DATABASE = "bench_export"
START, END = "2026-01-01", "2026-12-31"

FILL = """
INSERT INTO plans_plan (code, name, description, period, data_bytes, price_cents, currency, vat_rate_bp,
    covers_monaco, covers_french_riviera, covers_ligurian_coast, is_active, display_order)
VALUES ('day', 'Day 1 GB', '', 'day', 1000000000, 490, 'EUR', 2000, true, true, true, true, 1),
       ('week', 'Week 5 GB', '', 'week', 5000000000, 1990, 'EUR', 2000, true, true, true, true, 2),
       ('month', '月计划 20 GB', '', 'month', 20000000000, 4990, 'EUR', 1000, true, true, true, true, 3);

INSERT INTO accounts_user (password, is_superuser, email, phone, phone_verified, name, language, notify_email,
    notify_sms, is_staff, is_active, date_joined)
SELECT '!', false, 'traveller' || n || '@example.com', '+3776' || lpad(n::text, 7, '0'), true,
       CASE WHEN n % 10 = 0 THEN '王小明 ' || n WHEN n % 97 = 0 THEN '=cmd|' || n ELSE 'Traveller ' || n END,
       'en', true, false, false, true, now()
FROM generate_series(1, %(users)s) AS n;

INSERT INTO usage_card (iccid, kind, activation_code, claim_code_hash, label, data_remaining, period_allowance,
    overage_bytes, created_at, owner_id)
SELECT '89377' || lpad(u.id::text, 14, '0'), 'esim', '', '', '', 0, 0, 0, now(), u.id FROM accounts_user u;

INSERT INTO billing_order (number, customer_id, card_id, new_esim, origin, language, plan_id, plan_code, plan_name,
    plan_period, plan_duration_seconds, plan_data_bytes, list_price_cents, vat_rate_bp, promotion_code,
    discount_cents, bonus_bytes, wallet_applied_cents, amount_charged_cents, currency, refunded_amount_cents,
    status, created_at, paid_at, fulfilled_at, flag_reason, last_error, payment_method_type, save_payment_method,
    stripe_payment_intent_id, stripe_customer_id, checkout_url, customer_email, customer_phone)
SELECT 'MC-2026-' || lpad(n::text, 7, '0'), u, u, false, 'customer', 'en', p.id, p.code, p.name, p.period,
       86400, p.data_bytes, p.price_cents, p.vat_rate_bp,
       CASE WHEN n % 5 = 0 THEN 'WELCOME' ELSE '' END,
       CASE WHEN n % 5 = 0 THEN p.price_cents / 10 ELSE 0 END, 0,
       CASE WHEN n % 7 = 0 THEN 100 ELSE 0 END,
       p.price_cents - CASE WHEN n % 5 = 0 THEN p.price_cents / 10 ELSE 0 END - CASE WHEN n % 7 = 0 THEN 100 ELSE 0 END,
       'EUR', CASE WHEN n % 50 = 0 THEN 100 ELSE 0 END,
       CASE WHEN n % 50 = 0 THEN 'partially_refunded' WHEN n % 23 = 0 THEN 'expired' ELSE 'fulfilled' END,
       ts, CASE WHEN n % 23 = 0 AND n % 50 <> 0 THEN NULL ELSE ts + interval '1 minute' END,
       CASE WHEN n % 23 = 0 AND n % 50 <> 0 THEN NULL ELSE ts + interval '2 minutes' END, '', '',
       (ARRAY['card', 'alipay', 'wechat_pay', 'paypal'])[1 + n % 4], false,
       CASE WHEN n % 23 = 0 AND n % 50 <> 0 THEN NULL ELSE 'pi_bench_' || n END, '', '', '', ''
FROM (
    SELECT n, 1 + n % %(users)s AS u,
           timestamptz '2026-01-01 00:00+00' + ((n * 31) % (360 * 86400)) * interval '1 second' AS ts
    FROM generate_series(1, %(orders)s) AS n
) AS g
JOIN plans_plan p ON p.code = (ARRAY['day', 'week', 'month'])[1 + g.n % 3];

UPDATE billing_order SET number = 'MC-2026-' || lpad(id::text, 7, '0');

INSERT INTO billing_refund (order_id, amount_cents, currency, destination, source, status, failure_reason,
    data_reversed_bytes, duration_reversed_seconds, reason, created_at, succeeded_at)
SELECT id, 100, 'EUR', 'wallet', 'staff', 'succeeded', '', 0, 0, 'bench', paid_at + interval '1 day',
       paid_at + interval '1 day'
FROM billing_order WHERE refunded_amount_cents > 0;
ANALYZE;
"""

STATEMENT = """
import sys
from datetime import date

import django

django.setup()
from billing.exports import ExportFilter, csv_copy_statement

sys.stdout.write(csv_copy_statement(ExportFilter(date.fromisoformat(sys.argv[1]), date.fromisoformat(sys.argv[2]))))
"""


def copy_statement(env: dict) -> str:
    """The export's own COPY statement (the lines formatted by PostgreSQL), for psql to run."""
    completed = subprocess.run(
        [sys.executable, "-c", STATEMENT, START, END],
        env={**env, "DJANGO_SETTINGS_MODULE": "portal.settings", "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return completed.stdout


def measured(command: list[str], *, stdout, env: dict) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (MB) and CPU seconds of one child process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=stdout, env=env, cwd=ROOT)
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{command[0]} failed with status {status}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="keep the database and the output files")
    parser.add_argument(
        "--repeat", type=int, default=2, help="best of N runs of each (shared machines are noisy)"
    )
    parser.add_argument("--reuse", action="store_true", help="measure again on a database kept by --keep")
    args = parser.parse_args()

    url = f"{SERVER}/{DATABASE}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "true",
        "LOG_LEVEL": "WARNING",
        "VAR_DIR": str(ROOT / "var" / "bench"),
    }
    if not args.reuse:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{DATABASE}"')
    try:
        if not args.reuse:
            subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], check=True, env=env, cwd=ROOT)
            started = time.perf_counter()
            with psycopg.connect(url, autocommit=True) as connection:
                users = min(args.users, args.orders)
                connection.execute(
                    FILL.replace("%(orders)s", str(args.orders)).replace("%(users)s", str(users))
                )
            print(f"filled in {time.perf_counter() - started:.1f} s", flush=True)
        with psycopg.connect(url, autocommit=True) as connection:
            (count,) = connection.execute("SELECT count(*) FROM billing_order").fetchone()
        print(f"{count:,} orders in {DATABASE}", flush=True)

        out_dir = ROOT / "var" / "bench"
        out_dir.mkdir(parents=True, exist_ok=True)
        export_path, copy_path = out_dir / "export_orders.csv", out_dir / "export_orders_copy.csv"

        # Baseline: psql running the very COPY the export sends (same rows, same formatting in SQL),
        # writing to a file. One warm-up COPY fills the cache; then both alternate, best run counts.
        copy_sql = copy_statement(env)
        with open(os.devnull, "wb") as devnull:
            measured(["psql", url, "-q", "-c", copy_sql], stdout=devnull, env=env)
        copy_runs, export_runs = [], []
        for _run in range(args.repeat):
            with open(copy_path, "wb") as handle:
                copy_runs.append(measured(["psql", url, "-q", "-c", copy_sql], stdout=handle, env=env))
            export_runs.append(
                measured(
                    [
                        sys.executable,
                        "manage.py",
                        "export_orders",
                        "--from",
                        START,
                        "--to",
                        END,
                        "--format",
                        "csv",
                        "--output",
                        str(export_path),
                        "--no-progress",
                    ],
                    stdout=None,
                    env=env,
                )
            )
        print("COPY runs (s):   ", ", ".join(f"{wall:.2f}" for wall, *_ in copy_runs))
        print(
            "export runs (s): ",
            ", ".join(f"{wall:.2f} (client CPU {cpu:.1f})" for wall, _, cpu in export_runs),
        )
        copy_wall, copy_rss, _cpu = min(copy_runs)
        export_wall, _rss, _cpu = min(export_runs)
        export_rss = max(rss for _wall, rss, _cpu in export_runs)
        export_rows = sum(1 for _ in export_path.open("rb")) - 1
        copy_rows = sum(1 for _ in copy_path.open("rb"))  # no header line
        print(f"rows: export {export_rows:,}, COPY {copy_rows:,}")
        print(
            f"COPY (psql)        : {copy_wall:7.2f} s  peak RSS {copy_rss:7.1f} MB  {copy_path.stat().st_size / 1e6:7.1f} MB written"
        )
        print(
            f"export_orders (CSV): {export_wall:7.2f} s  peak RSS {export_rss:7.1f} MB  {export_path.stat().st_size / 1e6:7.1f} MB written"
        )
        ratio = export_wall / copy_wall
        print(f"ratio export / COPY: {ratio:.2f}x (target <= 1.5x); peak RSS target < 200 MB")
        print("RESULT", "PASS" if ratio <= 1.5 and export_rss < 200 and export_rows == copy_rows else "FAIL")
        if not args.keep:
            export_path.unlink()
            copy_path.unlink()
    finally:
        if not args.keep:
            with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


if __name__ == "__main__":
    main()
