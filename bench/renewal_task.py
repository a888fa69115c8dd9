"""The renewal task's own cost on PostgreSQL: milliseconds and queries per renewal, in-process.

Runs the two tasks a renewal goes through, as a worker runs them (task.apply(), Redis broker for
what they queue after commit), one after the other on their own orders in a throwaway database:
- `webhook_event_process_task` for a stored `checkout.session.completed` (records the payment,
  then renews the card in the same task: the path of a Stripe payment);
- `order_fulfil_task` for an order already paid (the success page, the reconciler, the wallet).
The webhook task is also run, interleaved one event each, the two-step way (the payment recorded in
a transaction of its own, then the renewal in another: what every event did before the payment and
the renewal shared one transaction, and what the task still does for a repeat or an event that
others wait on), so the cut reads as a same-process ratio however loaded the machine is.
Baseline, same run: the bare SQL of one renewal (lock the order and the card, write the ledger
entry, the card, the provisioning event, the order and one notice, commit) through the same
Django connection, on orders of its own. Target: the renewal task <= 15 ms mean.

    .venv/bin/python bench/renewal_task.py [--orders 500] [--profile]   # --profile: pyinstrument if installed
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ledger_benchdb import throwaway_database
from payment_common import environment, orders_seed, redis_flush, signed_event

TARGET_MS = 15.0

BARE_RENEWAL = [
    ("SELECT id, card_id, status FROM billing_order WHERE id = %(order)s FOR UPDATE", True),
    ("SELECT id, data_remaining, expires_at FROM usage_card WHERE id = %(card)s FOR UPDATE", True),
    (
        "INSERT INTO usage_ledgerentry (card_id, kind, data_delta, data_after, expires_before,"
        " expires_after, order_id, reason, created_at) VALUES (%(card)s, 'topup', 1, 2, now(),"
        " now() + interval '7 days', %(order)s, '', now()) RETURNING id",
        True,
    ),
    (
        "UPDATE usage_card SET data_remaining = data_remaining + 1,"
        " expires_at = expires_at + interval '7 days' WHERE id = %(card)s",
        False,
    ),
    (
        "INSERT INTO usage_provisioningevent (ledger_entry_id, card_id, payload, state, attempts,"
        " last_error, created_at) VALUES (%(entry)s, %(card)s, '{}', 'not_sent', 0, '', now())",
        False,
    ),
    (
        "UPDATE billing_order SET status = 'fulfilled', paid_at = now(), fulfilled_at = now()"
        " WHERE id = %(order)s",
        False,
    ),
    (
        "INSERT INTO accounts_notification (user_id, kind, channel, dedupe_key, recipient, language,"
        " subject, context, status, attempts, last_error, created_at) VALUES (NULL,"
        " 'renewal_confirmation', 'email', 'bare:' || %(order)s, 'x@example.com', 'en', '', '{}',"
        " 'pending', 0, '', now())",
        False,
    ),
]


def bare_renewal(order_id: int, card_id: int) -> None:
    from django.db import connection, transaction

    values = {"order": order_id, "card": card_id}
    with transaction.atomic(), connection.cursor() as cursor:
        for sql, fetch in BARE_RENEWAL:
            cursor.execute(sql, values)
            if fetch:
                row = cursor.fetchone()
                if "ledgerentry" in sql:
                    values["entry"] = row[0]


def timed(run, items) -> tuple[list[float], int]:
    """Each run's duration, and the queries they sent (counted by a wrapper, not Django's debug log)."""
    from django.db import connection

    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    times = []
    with connection.execute_wrapper(count):
        for item in items:
            started = time.perf_counter()
            run(item)
            times.append(time.perf_counter() - started)
    return times, queries


def timed_interleaved(run_a, items_a, run_b, items_b) -> tuple[list[float], int, list[float], int]:
    """timed() for two runs taken in turn, one item each, so that both see the same machine."""
    from django.db import connection

    counts = [0, 0]
    side = 0

    def count(execute, sql, params, many, context):
        counts[side] += 1
        return execute(sql, params, many, context)

    times: tuple[list[float], list[float]] = ([], [])
    with connection.execute_wrapper(count):
        for item_a, item_b in zip(items_a, items_b, strict=True):
            for side, run, item in ((0, run_a, item_a), (1, run_b, item_b)):
                started = time.perf_counter()
                run(item)
                times[side].append(time.perf_counter() - started)
    return times[0], counts[0], times[1], counts[1]


def line(name: str, times: list[float], queries: int) -> str:
    mean = statistics.mean(times) * 1000
    median = statistics.median(times) * 1000
    p95 = sorted(times)[int(0.95 * (len(times) - 1))] * 1000
    return f"{name:<34}{mean:>9.2f}{median:>9.2f}{p95:>9.2f}{queries / len(times):>9.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=500, help="renewals per kind")
    parser.add_argument("--profile", action="store_true", help="pyinstrument the webhook task (if installed)")
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"))
    options = parser.parse_args()
    # What a worker runs with: production settings (DEBUG off: no query log), demo payments.
    os.environ.update(
        {name: value for name, value in environment(options.redis).items() if name != "PYTHONPATH"}
    )
    load_before = os.getloadavg()[0]

    with throwaway_database("portal_bench_renewal_task"):
        from django.utils import timezone

        from billing import services, webhooks
        from billing.models import Order
        from billing.tasks import order_fulfil_task, webhook_event_process_task
        from usage.models import LedgerEntry

        redis_flush(options.redis)
        count = options.orders
        order_ids = orders_seed(4 * count + 3)
        cards = dict(Order.objects.values_list("id", "card_id"))
        warm, order_ids = order_ids[:3], order_ids[3:]
        by_webhook, two_step, paid_first, bare = (
            order_ids[:count],
            order_ids[count : 2 * count],
            order_ids[2 * count : 3 * count],
            order_ids[3 * count :],
        )

        def store(order_id: int) -> int:
            payload, _header = signed_event(order_id, f"cs_bench_{order_id}", number=order_id)
            stored, _created = webhooks.webhook_event_store(event=json.loads(payload), now=timezone.now())
            return stored.pk

        # Stored and paid beforehand, outside the timing (the web process and the payment do that).
        events = [store(order_id) for order_id in [warm[0], *by_webhook]]
        two_step_events = [store(order_id) for order_id in [warm[2], *two_step]]
        now = timezone.now()
        for order_id in [warm[1], *paid_first]:
            services.order_mark_paid(order_id=order_id, paid_at=now, now=now, fulfil_in_background=False)
        redis_flush(options.redis)

        def run_two_step(pk: int) -> None:
            # The one-transaction way declines (as for a repeat): payment, then renewal, as before.
            with mock.patch.object(services, "order_pay_and_renew", return_value=None):
                webhook_event_process_task.apply(args=(pk,))

        webhook_event_process_task.apply(args=(events.pop(0),))
        run_two_step(two_step_events.pop(0))
        order_fulfil_task.apply(args=(warm[1],))

        profiler = None
        if options.profile:
            try:
                from pyinstrument import Profiler
            except ImportError:
                print("pyinstrument is not installed: no profile")
            else:
                profiler = Profiler(interval=0.0005)
                profiler.start()
        webhook_times, webhook_queries, two_step_times, two_step_queries = timed_interleaved(
            lambda pk: webhook_event_process_task.apply(args=(pk,)), events, run_two_step, two_step_events
        )
        if profiler is not None:
            profiler.stop()
        fulfil_times, fulfil_queries = timed(lambda pk: order_fulfil_task.apply(args=(pk,)), paid_first)
        bare_times, bare_queries = timed(lambda pk: bare_renewal(pk, cards[pk]), bare)

        renewed_orders = by_webhook + two_step + paid_first
        renewed = LedgerEntry.objects.filter(kind="topup", order_id__in=renewed_orders).count()
        fulfilled = Order.objects.filter(pk__in=renewed_orders, status="fulfilled").count()

    print(f"{count} renewals of each kind, in-process, PostgreSQL, Redis broker (load {load_before:.1f})")
    print(f"{'':<34}{'mean ms':>9}{'p50 ms':>9}{'p95 ms':>9}{'queries':>9}")
    print(line("renewal by Stripe event (task)", webhook_times, webhook_queries))
    print(line("  same, the two-step way", two_step_times, two_step_queries))
    print(line("renewal of a paid order (task)", fulfil_times, fulfil_queries))
    print(line("baseline: bare SQL of a renewal", bare_times, bare_queries))
    mean = statistics.mean(webhook_times) * 1000
    ratio = mean / (statistics.mean(bare_times) * 1000)
    print(
        f"renewal task: {mean:.2f} ms mean = {ratio:.1f}x the bare SQL; target <= {TARGET_MS:g} ms "
        f"{'ok' if mean <= TARGET_MS else 'BELOW TARGET'} (load after {os.getloadavg()[0]:.1f})"
    )
    print(
        f"one transaction vs two-step, same run, interleaved: "
        f"{mean / (statistics.mean(two_step_times) * 1000):.2f}x the time "
        f"({mean:.2f} vs {statistics.mean(two_step_times) * 1000:.2f} ms mean), "
        f"{webhook_queries / count:.0f} vs {two_step_queries / count:.0f} queries"
    )
    if profiler is not None:
        print(profiler.output_text(unicode=True, color=False))
    if renewed != 3 * count or fulfilled != 3 * count:
        print(f"CONSISTENCY: {renewed} top-ups and {fulfilled} fulfilled orders, expected {3 * count}")
        sys.exit(1)


if __name__ == "__main__":
    main()
