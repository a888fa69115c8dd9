"""Dashboard throughput under gunicorn, against trivial authenticated views in the same run.

A customer with 3 cards and 10,000 usage records; concurrent keep-alive clients hit the dashboard,
then two baselines on the same gunicorn, both behind login: `/bench/ping/` (returns "ok", no
template) and `/bench/page/` (the portal's page shell around one heading). Prints requests per
second, p50 and p99 for each and the ratio dashboard / plain trivial view (target >= 0.6), plus the
ratio against the page shell, which isolates what the dashboard itself costs.

    .venv/bin/python bench/dashboard.py [--clients 8] [--seconds 10] [--workers 2] [--threads 4] [--rounds 5]
"""

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clients import clients_run
from ledger_benchdb import ROOT, throwaway_database

TARGET_RATIO = 0.6
# Shared by this process (which signs the session) and gunicorn (which reads it).
SECRET_KEY = "bench-only-secret-key-not-for-production-0123456789"
GB = 1_000_000_000


def seed() -> str:
    """The customer, their cards and usage; returns a session cookie for them."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone

    from usage.iccid import iccid_with_check_digit
    from usage.models import Card, LedgerEntry, UsageRecord

    now = timezone.now()
    user = get_user_model().objects.create_user(email="bench@example.com", password="bench-password")
    cards = [
        Card.objects.create(
            iccid=iccid_with_check_digit(f"89377990000000000{number}"),
            activation_code=f"LPA:1$smdp.example.net$BENCH-{number}",
            owner=user,
            period_allowance=5 * GB,
            data_remaining=(number + 1) * GB,
            period_started_at=now - timedelta(days=2),
            expires_at=now + timedelta(days=number * 3 - 1),
            usage_updated_at=now - timedelta(minutes=20),
        )
        for number in range(3)
    ]
    entries = [
        LedgerEntry.objects.create(
            card=card,
            kind=LedgerEntry.Kind.USAGE,
            data_delta=0,
            data_after=card.data_remaining,
            expires_before=card.expires_at,
            expires_after=card.expires_at,
        )
        for card in cards
    ]
    UsageRecord.objects.bulk_create(
        [
            UsageRecord(
                record_id=f"bench-{number}",
                card=cards[number % 3],
                ledger_entry=entries[number % 3],
                start=now - timedelta(minutes=2 * number + 2),
                end=now - timedelta(minutes=2 * number + 1),
                bytes=1_000_000 + number,
            )
            for number in range(10_000)
        ],
        batch_size=2000,
    )
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(port: int, cookie: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/bench/ping/", headers={"Cookie": cookie})
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not answer in time")


def client(port: int, path: str, cookie: str, seconds: float, queue) -> None:
    latencies = []
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    end = time.monotonic() + seconds
    errors = 0
    while time.monotonic() < end:
        started = time.perf_counter()
        try:
            connection.request("GET", path, headers={"Cookie": cookie, "Accept-Language": "en"})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                errors += 1
        except (OSError, http.client.HTTPException):
            errors += 1
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        latencies.append(time.perf_counter() - started)
    queue.put((latencies, errors))


def load(port: int, path: str, cookie: str, clients: int, seconds: float) -> dict:
    latencies, errors = clients_run(client, [(port, path, cookie, seconds)] * clients)
    return {
        "latencies": latencies,
        "seconds": seconds,
        "rps": len(latencies) / seconds,
        "p50": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else float("nan"),
        "errors": errors,
    }


def combine(results: list[dict]) -> dict:
    """The rounds of one view as if measured in one go."""
    latencies = sorted(value for result in results for value in result["latencies"])
    seconds = sum(result["seconds"] for result in results)
    return {
        "latencies": latencies,
        "seconds": seconds,
        "rps": len(latencies) / seconds,
        "p50": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else float("nan"),
        "errors": sum(result["errors"] for result in results),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5, help="alternate the three views this many times")
    options = parser.parse_args()
    os.environ["SECRET_KEY"] = SECRET_KEY

    with throwaway_database("portal_bench_dashboard"):
        cookie = seed()
        port = free_port()
        environment = {
            **os.environ,
            "DEBUG": "false",
            "SECRET_KEY": SECRET_KEY,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "PAYMENTS_DEMO": "1",  # production settings, demo payments on purpose
            "DJANGO_SETTINGS_MODULE": "dashboard_settings",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "bench"), str(ROOT)]),
        }
        command = [sys.executable, "-m", "gunicorn", "portal.wsgi", "--bind", f"127.0.0.1:{port}"]
        command += ["--workers", str(options.workers), "--worker-class", "gthread"]
        command += ["--threads", str(options.threads), "--log-level", "warning"]
        server = subprocess.Popen(command, cwd=ROOT, env=environment)
        try:
            wait_until_up(port, cookie)
            # Warm both paths (template loading, connections) before measuring.
            load(port, "/", cookie, 2, 1)
            load(port, "/bench/ping/", cookie, 2, 1)
            load(port, "/bench/page/", cookie, 2, 1)
            # Interleaved in short rounds: on a shared machine the load changes within seconds, and
            # measuring one view after the other would charge a burst to whichever ran during it.
            paths = {"dashboard": "/", "trivial": "/bench/ping/", "shell": "/bench/page/"}
            rounds = {name: [] for name in paths}
            for number in range(options.rounds):
                order = list(paths) if number % 2 == 0 else list(reversed(paths))
                for name in order:
                    rounds[name].append(
                        load(port, paths[name], cookie, options.clients, options.seconds / options.rounds)
                    )
            dashboard, trivial, shell = (combine(rounds[name]) for name in paths)
        finally:
            server.terminate()
            server.wait(10)

    ratio = dashboard["rps"] / trivial["rps"] if trivial["rps"] else 0
    print(
        f"gunicorn gthread: {options.workers} workers x {options.threads} threads; {options.clients} clients;"
        f" {options.seconds:g} s per view in {options.rounds} interleaved rounds"
    )
    print(f"{'view':<24}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
    rows = (
        ("dashboard (3 cards)", dashboard),
        ("trivial, logged in", trivial),
        ("page shell, logged in", shell),
    )
    for name, result in rows:
        print(
            f"{name:<24}{result['rps']:>10.1f}{result['p50']:>10.1f}{result['p99']:>10.1f}{result['errors']:>8}"
        )
    verdict = "ok" if ratio >= TARGET_RATIO else "BELOW TARGET"
    print(f"ratio dashboard / trivial: {ratio:.2f} (target >= {TARGET_RATIO}) {verdict}")
    if shell["rps"]:
        print(f"ratio dashboard / page shell: {dashboard['rps'] / shell['rps']:.2f}")
    if dashboard["errors"] or trivial["errors"] or shell["errors"]:
        raise SystemExit("some requests failed")


if __name__ == "__main__":
    main()
