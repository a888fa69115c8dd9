"""Webhook endpoint alone: requests/s and latency for signed Stripe events, work queued but not run.

gunicorn (gthread) with the Redis broker and PostgreSQL, no Celery worker: every POST verifies the
signature, stores the event by id and queues its processing in Redis after commit, then answers.
Concurrent keep-alive clients each post their own stream of distinct events.

    .venv/bin/python bench/webhook_endpoint.py [--clients 8] [--seconds 15]
"""

import argparse
import http.client
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clients import clients_run
from ledger_benchdb import throwaway_database
from payment_common import (
    SECRET_KEY,
    environment,
    free_port,
    gunicorn_start,
    percentile,
    post,
    redis_flush,
    signed_event,
)


def client(port: int, number: int, seconds: float, queue) -> None:
    latencies, errors = [], 0
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    end = time.monotonic() + seconds
    sent = 0
    while time.monotonic() < end:
        sent += 1
        payload, header = signed_event(number * 10_000_000 + sent, f"cs_bench_{number}_{sent}", number=number)
        started = time.perf_counter()
        try:
            if post(connection, payload, header) != 200:
                errors += 1
        except (OSError, http.client.HTTPException):
            errors += 1
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        latencies.append(time.perf_counter() - started)
    queue.put((latencies, errors))


def load(port: int, clients: int, seconds: float, first: int) -> dict:
    latencies, errors = clients_run(client, [(port, first + index, seconds) for index in range(clients)])
    return {
        "count": len(latencies),
        "rps": len(latencies) / seconds,
        "latencies": latencies,
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    options = parser.parse_args()
    os.environ["SECRET_KEY"] = SECRET_KEY

    with throwaway_database("portal_bench_webhook"):
        from django.db import connections

        connections.close_all()
        redis_flush(options.redis)
        port = free_port()
        server = gunicorn_start(
            port, environment(options.redis), workers=options.workers, threads=options.threads
        )
        try:
            load(port, 2, 1, first=1000)  # warm-up
            result = load(port, options.clients, options.seconds, first=0)
            import redis

            queued = redis.Redis.from_url(options.redis).llen("celery")
            import psycopg

            with psycopg.connect(os.environ["DATABASE_URL"]) as connection:
                stored = connection.execute("SELECT count(*) FROM billing_webhookevent").fetchone()[0]
        finally:
            server.terminate()
            server.wait(10)
            redis_flush(options.redis)

    latencies = result["latencies"]
    print(
        f"gunicorn gthread {options.workers}x{options.threads}; {options.clients} clients for {options.seconds:g} s; "
        f"PostgreSQL; Redis broker, no worker"
    )
    print(
        f"{result['rps']:.1f} requests/s; p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
        f"p95 {percentile(latencies, 0.95) * 1000:.1f} ms, p99 {percentile(latencies, 0.99) * 1000:.1f} ms; "
        f"errors {result['errors']}"
    )
    print(f"events stored: {stored}; processing tasks waiting in Redis: {queued}")


if __name__ == "__main__":
    main()
