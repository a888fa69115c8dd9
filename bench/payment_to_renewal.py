"""Payment to renewal: signed webhooks at a steady rate to gunicorn; time until the new expiry is committed.

gunicorn (gthread), a Redis broker, the Procfile's worker layout (a `renewals` worker for renewals
alone and a general worker consuming every queue, renewals first) and PostgreSQL, in a throwaway
database. Each POST is a `checkout.session.completed` for its own pending order (its own customer
and card). A watcher polls PostgreSQL every few milliseconds for fulfilled orders: latency is the
time from the start of the POST to the first moment another connection sees the order fulfilled,
i.e. the card's new expiry committed. Prints p50, p95, p99 (target p95 < 1 s, none lost), the
webhook's own response times (the same-run baseline: the part before any worker), and when the
confirmations (one email per order, delivered by the general worker) were all sent (target: within
2 minutes of the last POST).

Then, unless --capacity 0: how many renewals a second the renewals worker gets through with 1 and
with 2 processes (`--scaling 1,2`): the webhooks of --capacity orders are posted with no worker
running, then that many renewals worker processes start and the time until the last one is renewed
is taken. Throughput rising with processes is how renewals scale past one machine (each process
can be a worker on a machine of its own).

    .venv/bin/python bench/payment_to_renewal.py [--rate 50] [--seconds 60] [--capacity 2000] [--scaling 1,2]
"""

import argparse
import http.client
import os
import subprocess
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
NOTICES_DRAINED_SECONDS = 120
POLL_SECONDS = 0.005


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return f"load average {os.getloadavg()}"


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


class Poster:
    """Signed webhooks over keep-alive connections, one per sending thread, as Stripe would."""

    def __init__(self, port: int):
        self.port = port
        self.local = threading.local()
        self.posted: dict[int, float] = {}
        self.answered: dict[int, float] = {}
        self.statuses: list[int] = []

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self.local, "connection", None)
        if connection is None:
            connection = self.local.connection = http.client.HTTPConnection(
                "127.0.0.1", self.port, timeout=30
            )
        return connection

    def send(self, index: int, order_id: int) -> None:
        payload, header = signed_event(order_id, f"cs_bench_{order_id}", number=index)
        self.posted[order_id] = time.time()
        try:
            status = post(self._connection(), payload, header)
        except (OSError, http.client.HTTPException):
            # gunicorn closed an idle keep-alive connection: retry once on a new one, as Stripe would.
            self._connection().close()
            self.local.connection = None
            try:
                status = post(self._connection(), payload, header)
            except (OSError, http.client.HTTPException):
                status = 0
                self.local.connection = None
        self.statuses.append(status)
        self.answered[order_id] = time.time()


def notices_pending() -> int:
    from notices.models import Notification

    return Notification.objects.filter(status=Notification.Status.PENDING).count()


def notices_sent() -> int:
    from notices.models import Notification

    return Notification.objects.filter(status=Notification.Status.SENT).count()


def burst(options, env: dict, port: int, order_ids: list[int]) -> dict:
    """The steady-rate run with the documented worker layout; its figures."""
    workers = [
        worker_start(
            env,
            concurrency=options.renewals_concurrency,
            pool=options.pool,
            queues="renewals",
            name="renewals",
        )
        for _ in range(options.renewal_workers)
    ]
    # As in the Procfile: the general worker yields the CPU to web and renewals (nice 10).
    workers.append(
        worker_start(env, concurrency=options.general_concurrency, name="worker", nice=options.general_nice)
    )
    poster = Poster(port)
    seen: dict[int, float] = {}
    stop = threading.Event()
    try:
        # Warm-up: one event through the whole path before the clock starts.
        warm = order_ids.pop()
        poster.send(-1, warm)
        time.sleep(2)
        poster.posted.pop(warm, None)
        poster.answered.pop(warm, None)
        poster.statuses.clear()
        watcher = threading.Thread(target=watch, args=(poster.posted, seen, stop), daemon=True)
        watcher.start()
        started = time.monotonic()
        with ThreadPoolExecutor(32) as pool:
            for index, order_id in enumerate(order_ids):
                due = started + index / options.rate
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(poster.send, index, order_id)
        last_post = time.monotonic()
        deadline = last_post + 60
        while not all(order_id in seen for order_id in order_ids) and time.monotonic() < deadline:
            time.sleep(0.1)
        renewed_by = time.monotonic() - started
        drained_after = None
        while time.monotonic() < last_post + NOTICES_DRAINED_SECONDS + 30:
            if notices_pending() == 0:
                drained_after = time.monotonic() - last_post
                break
            time.sleep(0.5)
    finally:
        stop.set()
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(30)
    latencies = sorted(seen[order_id] - poster.posted[order_id] for order_id in order_ids if order_id in seen)
    responses = sorted(
        poster.answered[order_id] - poster.posted[order_id]
        for order_id in order_ids
        if order_id in poster.answered
    )
    return {
        "count": len(order_ids),
        "posting": last_post - started,
        "renewed_by": renewed_by,
        "latencies": latencies,
        "responses": responses,
        "missing": len(order_ids) - len(latencies),
        "errors": Counter(status for status in poster.statuses if status != 200),
        "drained_after": drained_after,
        "pending": notices_pending(),
        "sent": notices_sent(),
    }


def capacity(options, env: dict, port: int, order_ids: list[int], processes: int) -> float:
    """Renewals a second `processes` renewals worker processes get through from a standing queue."""
    from billing.models import Order

    poster = Poster(port)
    with ThreadPoolExecutor(8) as pool:
        for index, order_id in enumerate(order_ids):
            pool.submit(poster.send, 1_000_000 * processes + index, order_id)
    errors = sum(1 for status in poster.statuses if status != 200)
    started = time.monotonic()
    workers = [
        worker_start(env, concurrency=1, pool=options.pool, queues="renewals", name="renewals")
        for _ in range(processes)
    ]
    ready = time.monotonic() - started
    started = time.monotonic()
    try:
        deadline = started + 300
        while Order.objects.filter(pk__in=order_ids, status="fulfilled").count() < len(order_ids):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        done = Order.objects.filter(pk__in=order_ids, status="fulfilled").count()
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(30)
    rate = done / elapsed
    print(
        f"capacity, {processes} renewals worker process(es): {done} of {len(order_ids)} renewed in "
        f"{elapsed:.1f} s = {rate:.1f} renewals/s (workers ready in {ready:.1f} s, not counted; "
        f"HTTP errors {errors})"
    )
    return rate if done == len(order_ids) and not errors else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50, help="webhooks per second")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--renewal-workers", type=int, default=1, help="renewals worker instances")
    parser.add_argument(
        "--renewals-concurrency", type=int, default=2, help="processes per renewals worker (Procfile: 2)"
    )
    parser.add_argument(
        "--general-concurrency", type=int, default=2, help="processes of the general worker (Procfile: 2)"
    )
    parser.add_argument(
        "--general-nice", type=int, default=10, help="nice of the general worker (Procfile: 10)"
    )
    parser.add_argument(
        "--pool", default="prefork", choices=["prefork", "threads"], help="renewals worker pool"
    )
    parser.add_argument("--capacity", type=int, default=2000, help="orders per scaling run (0: skip)")
    parser.add_argument("--scaling", default="1,2", help="renewals worker processes to compare")
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"))
    options = parser.parse_args()
    os.environ["SECRET_KEY"] = SECRET_KEY
    total = int(options.rate * options.seconds) + 1
    scaling = [int(number) for number in options.scaling.split(",") if number] if options.capacity else []
    print(f"before: {uptime()}", flush=True)

    with throwaway_database("portal_bench_payment"):
        from django.db import connections

        order_ids = orders_seed(total + options.capacity * len(scaling))
        connections.close_all()
        redis_flush(options.redis)
        env = environment(options.redis)
        port = free_port()
        server = gunicorn_start(port, env, workers=options.gunicorn_workers, threads=options.threads)
        try:
            result = burst(options, env, port, order_ids[:total])
            rates = []
            for index, processes in enumerate(scaling):
                first = total + index * options.capacity
                rates.append(
                    capacity(options, env, port, order_ids[first : first + options.capacity], processes)
                )
        finally:
            server.terminate()
            server.wait(10)
    print(f"after: {uptime()}")

    latencies, responses = result["latencies"], result["responses"]
    errors = sum(result["errors"].values())
    print(
        f"{result['count']} webhooks at {options.rate:g}/s over {result['posting']:.1f} s; gunicorn gthread "
        f"{options.gunicorn_workers}x{options.threads}; Procfile layout: {options.renewal_workers} renewals "
        f"worker(s) ({options.pool}, {options.renewals_concurrency}) + general worker (prefork, "
        f"{options.general_concurrency}, every queue, nice {options.general_nice}); Redis broker; PostgreSQL"
    )
    print(f"{'':<28}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for name, values in (("POST -> expiry committed", latencies), ("webhook response", responses)):
        print(
            f"{name:<28}{percentile(values, 0.50) * 1000:>10.0f}{percentile(values, 0.95) * 1000:>10.0f}"
            f"{percentile(values, 0.99) * 1000:>10.0f}{(values[-1] if values else float('nan')) * 1000:>10.0f}"
        )
    print(
        f"HTTP errors: {errors} {dict(result['errors']) if errors else ''}; "
        f"not renewed within 60 s after the last POST: {result['missing']}; "
        f"renewals/s over the run: {len(latencies) / result['renewed_by']:.1f}"
    )
    drained = result["drained_after"]
    notices_ok = drained is not None and drained <= NOTICES_DRAINED_SECONDS
    print(
        f"notices: {result['sent']} sent, {result['pending']} pending; all sent "
        + (f"{drained:.0f} s after the last POST" if drained is not None else "NOT within the wait")
        + f" (target <= {NOTICES_DRAINED_SECONDS} s) {'ok' if notices_ok else 'BELOW TARGET'}"
    )
    p95 = percentile(latencies, 0.95)
    verdict = "ok" if p95 < TARGET_P95_SECONDS and not result["missing"] else "BELOW TARGET"
    print(f"p95 POST -> renewal: {p95:.3f} s (target < {TARGET_P95_SECONDS:g} s) {verdict}")
    if len(rates) >= 2:
        rising = rates[0] > 0 and rates[-1] > rates[0]
        print(
            f"scaling: {' -> '.join(f'{rate:.1f}' for rate in rates)} renewals/s with "
            f"{' -> '.join(map(str, scaling))} processes = {rates[-1] / rates[0] if rates[0] else 0:.2f}x "
            f"{'rising' if rising else 'NOT RISING'}"
        )


if __name__ == "__main__":
    main()
