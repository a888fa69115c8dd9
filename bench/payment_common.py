"""Shared by the payment benchmarks: seeded orders, signed Stripe-shaped events, gunicorn and a worker."""

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import stripe

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "bench-only-secret-key-not-for-production-payments-0123456789"
WEBHOOK_SECRET = "whsec_bench_only"
GB = 1_000_000_000


def environment(redis_url: str) -> dict[str, str]:
    """What gunicorn and the worker run with: production settings, demo payments, Redis broker."""
    return {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "REDIS_URL": redis_url,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_SECRET_KEY": "",
        "PAYMENTS_DEMO": "1",  # production settings, demo payments on purpose
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "PYTHONPATH": str(ROOT),
    }


def redis_flush(redis_url: str) -> None:
    import redis

    redis.Redis.from_url(redis_url).flushdb()


def orders_seed(count: int) -> list[int]:
    """`count` customers, each with an active card and a pending week-plan order sent to Checkout."""
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from billing.models import Order
    from plans.models import Plan
    from usage.models import Card

    now = timezone.now()
    plan = Plan.objects.create(
        code="week", name="Week 5 GB", period="week", data_bytes=5 * GB, price_cents=1490, vat_rate_bp=2000
    )
    User = get_user_model()
    User.objects.bulk_create(
        [User(email=f"bench{number}@example.com", password="!", language="en") for number in range(count)],
        batch_size=2000,
    )
    users = list(User.objects.order_by("id"))
    Card.objects.bulk_create(
        [
            Card(
                iccid=f"89377{number:014d}",
                owner=user,
                data_remaining=GB,
                period_allowance=5 * GB,
                period_started_at=now - timedelta(days=5),
                expires_at=now + timedelta(days=2),
            )
            for number, user in enumerate(users)
        ],
        batch_size=2000,
    )
    cards = list(Card.objects.order_by("id"))
    Order.objects.bulk_create(
        [
            Order(
                customer=card.owner,
                card=card,
                plan=plan,
                plan_code=plan.code,
                plan_name=plan.name,
                plan_period=plan.period,
                plan_duration_seconds=7 * 86400,
                plan_data_bytes=plan.data_bytes,
                list_price_cents=1490,
                vat_rate_bp=2000,
                amount_charged_cents=1490,
                customer_email=card.owner.email,
                stripe_checkout_session_id=f"cs_bench_{card.pk}",
                checkout_started_at=now,
                created_at=now,
            )
            for card in cards
        ],
        batch_size=2000,
    )
    with connection.cursor() as cursor:
        cursor.execute("UPDATE billing_order SET number = 'MC-BENCH-' || lpad(id::text, 7, '0')")
        cursor.execute("ANALYZE")
    return list(Order.objects.order_by("id").values_list("id", flat=True))


def signed_event(order_id: int, session_id: str, *, number: int) -> tuple[bytes, str]:
    """A checkout.session.completed event as Stripe sends it, signed with the webhook secret."""
    event = {
        "id": f"evt_bench_{number}_{order_id}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "livemode": False,
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "id": session_id,
                "object": "checkout.session",
                "mode": "payment",
                "status": "complete",
                "payment_status": "paid",
                "client_reference_id": str(order_id),
                "metadata": {"order_id": str(order_id)},
                "amount_total": 1490,
                "currency": "eur",
                "customer": None,
                "payment_intent": None,
            }
        },
    }
    payload = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(
        payload, WEBHOOK_SECRET, timestamp=int(time.time())
    )
    return payload.encode(), header


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def gunicorn_start(port: int, env: dict, *, workers: int, threads: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "portal.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads)]
    command += ["--log-level", "warning"]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not answer in time")


def worker_start(
    env: dict, *, concurrency: int, pool: str = "prefork", queues: str = "", name: str = "", nice: int = 0
) -> subprocess.Popen:
    """A Celery worker; `queues` as its -Q (empty: every queue, renewals first, as the general worker)."""
    from django.conf import settings

    queues = queues or ",".join(queue.name for queue in settings.CELERY_TASK_QUEUES)
    command = [sys.executable, "-m", "celery", "-A", "portal", "worker", "--loglevel", "INFO"]
    command += ["--pool", pool, "--concurrency", str(concurrency), "-Q", queues]
    command += ["-n", f"{name or 'bench'}-{time.monotonic_ns()}@%h"]
    if nice:
        command = ["nice", "-n", str(nice), *command]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    worker = subprocess.Popen(
        command,
        cwd=ROOT,
        # INFO: the worker's "ready." line goes through the portal's logging (LOG_LEVEL), and is awaited.
        env={**env, "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "INFO"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    for line in worker.stdout:
        if " ready." in line:
            break
        if time.monotonic() > deadline:
            break
    # Keep draining its output so the pipe never fills and blocks the worker.
    import threading

    log_path = os.environ.get("BENCH_WORKER_LOG")
    log = open(log_path, "w") if log_path else None  # noqa: SIM115 - lives as long as the worker

    def drain() -> None:
        for line in worker.stdout:
            if log:
                log.write(line)

    threading.Thread(target=drain, daemon=True).start()
    return worker


def post(connection: http.client.HTTPConnection, payload: bytes, header: str) -> int:
    connection.request(
        "POST",
        "/stripe/webhook",
        body=payload,
        headers={"Content-Type": "application/json", "Stripe-Signature": header},
    )
    response = connection.getresponse()
    response.read()
    return response.status


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]
