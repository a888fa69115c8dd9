"""Payment to renewal: signed webhooks at a steady rate to gunicorn; time until the new expiry is committed.

gunicorn (gthread), a Redis broker, one real Celery worker and PostgreSQL, in a throwaway database.
Each POST is a `checkout.session.completed` for its own pending order (its own customer and card).
A watcher polls PostgreSQL every few milliseconds for fulfilled orders: latency is the time from the
start of the POST to the first moment another connection sees the order fulfilled, i.e. the card's
new expiry committed. Prints p50, p95, p99 (target p95 < 1 s) and the webhook's own response times.

    .venv/bin/python bench/payment_to_renewal.py [--rate 20] [--seconds 60] [--pool threads --concurrency 8]
"""

import argparse
import http.client
import os
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ledger_benchdb import throwaway_database
from payment_common import (
    SECRET_KEY,
    environment,
    free_port,
    gunicorn_start,
    orders_seed,
    percentile,
    post,
    redis_flush,
    signed_event,
    worker_start,
)

TARGET_P95_SECONDS = 1.0
POLL_SECONDS = 0.005


def watch(posted: dict[int, float], seen: dict[int, float], stop: threading.Event) -> None:
    """Record when each posted order is first seen fulfilled, from a connection of its own.

    Only orders already posted and not yet seen are asked about, so the watcher stays light.
    """
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as connection:
        while not stop.is_set():
            waiting = [order_id for order_id in list(posted) if order_id not in seen]
            if waiting:
                rows = connection.execute(
                    "SELECT id FROM billing_order WHERE status = 'fulfilled' AND id = ANY(%s)", [waiting]
                ).fetchall()
                now = time.time()
                for (order_id,) in rows:
                    seen[order_id] = now
            time.sleep(POLL_SECONDS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20, help="webhooks per second")
    parser.add_argument("--seconds", type=float, default=60)
    # The work is mostly waiting on PostgreSQL round trips: a thread pool keeps one process busy.
    parser.add_argument("--concurrency", type=int, default=8, help="worker pool size")
    parser.add_argument("--pool", default="threads", choices=["prefork", "threads"], help="worker pool kind")
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"))
    options = parser.parse_args()
    os.environ["SECRET_KEY"] = SECRET_KEY
    total = int(options.rate * options.seconds)

    with throwaway_database("portal_bench_payment"):
        from django.db import connections

        order_ids = orders_seed(total)
        connections.close_all()
        redis_flush(options.redis)
        env = environment(options.redis)
        port = free_port()
        server = gunicorn_start(port, env, workers=options.gunicorn_workers, threads=options.threads)
        worker = worker_start(env, concurrency=options.concurrency, pool=options.pool)
        posted: dict[int, float] = {}
        answered: dict[int, float] = {}
        statuses: list[int] = []
        seen: dict[int, float] = {}
        stop = threading.Event()
        local = threading.local()

        def send(index: int, order_id: int) -> None:
            payload, header = signed_event(order_id, f"cs_bench_{order_id}", number=index)
            connection = getattr(local, "connection", None) or http.client.HTTPConnection(
                "127.0.0.1", port, timeout=30
            )
            local.connection = connection
            posted[order_id] = time.time()
            try:
                status = post(connection, payload, header)
            except (OSError, http.client.HTTPException):
                # gunicorn closed an idle keep-alive connection: retry once on a new one, as Stripe would.
                connection.close()
                connection = local.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                try:
                    status = post(connection, payload, header)
                except (OSError, http.client.HTTPException):
                    status = 0
                    local.connection = None
            statuses.append(status)
            answered[order_id] = time.time()

        try:
            # Warm-up: one event through the whole path before the clock starts.
            warm = order_ids.pop()
            send(-1, warm)
            time.sleep(2)
            posted.pop(warm, None)
            watcher = threading.Thread(target=watch, args=(posted, seen, stop), daemon=True)
            watcher.start()
            started = time.monotonic()
            with ThreadPoolExecutor(32) as pool:
                for index, order_id in enumerate(order_ids):
                    due = started + index / options.rate
                    delay = due - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    pool.submit(send, index, order_id)
            deadline = time.monotonic() + 60
            while not all(order_id in seen for order_id in order_ids) and time.monotonic() < deadline:
                time.sleep(0.1)
            elapsed = time.monotonic() - started
        finally:
            stop.set()
            server.terminate()
            worker.terminate()
            server.wait(10)
            worker.wait(20)

    latencies = sorted(seen[order_id] - posted[order_id] for order_id in order_ids if order_id in seen)
    responses = sorted(
        answered[order_id] - posted[order_id] for order_id in order_ids if order_id in answered
    )
    missing = len(order_ids) - len(latencies)
    errors = sum(1 for status in statuses if status != 200)
    error_kinds = Counter(status for status in statuses if status != 200)
    print(
        f"{len(order_ids)} webhooks at {options.rate:g}/s over {elapsed:.1f} s; gunicorn gthread "
        f"{options.gunicorn_workers}x{options.threads}; one Celery worker ({options.pool}, {options.concurrency}); "
        f"Redis broker; PostgreSQL"
    )
    print(f"{'':<28}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for name, values in (("POST -> expiry committed", latencies), ("webhook response", responses)):
        print(
            f"{name:<28}{percentile(values, 0.50) * 1000:>10.0f}{percentile(values, 0.95) * 1000:>10.0f}"
            f"{percentile(values, 0.99) * 1000:>10.0f}{(values[-1] if values else float('nan')) * 1000:>10.0f}"
        )
    print(
        f"HTTP errors: {errors} {dict(error_kinds) if errors else ''}; not renewed within 60 s after the last POST: {missing}"
    )
    p95 = percentile(latencies, 0.95)
    verdict = "ok" if p95 < TARGET_P95_SECONDS and not missing else "BELOW TARGET"
    print(f"p95 POST -> renewal: {p95:.3f} s (target < {TARGET_P95_SECONDS:g} s) {verdict}")


if __name__ == "__main__":
    main()
