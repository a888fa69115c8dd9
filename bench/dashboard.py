"""What a traveller's page costs: the layout and the dashboard, measured in-process in one run.

A customer with 3 cards and 10,000 usage records. Three views, all behind login, measured in the
same process through Django's WSGI handler (every middleware, `DEBUG` off, cached template loader),
interleaved in rounds so a load burst hits all three alike:

- trivial: `/bench/ping/` returns "ok", no template (session, user, middleware);
- page shell: `/bench/page/`, the portal's layout (header, navigation, footer) around one heading;
- dashboard: `/`, 3 cards, the chart and the wallet.

It prints each one's median time per request and query count, and the derived costs:
layout = shell - trivial, dashboard own = dashboard - shell (the issue's targets: each halved from
the figures in bench/README.md). `--before-ref 6d66adc` measures that commit too, in a temporary
git worktree, each checkout in its own process and database, round for round in turn, and prints
both and the verdict (each own cost <= 50 % of before). `--gunicorn` adds the old throughput run.

    .venv/bin/python bench/dashboard.py [--requests 200] [--in-process-rounds 7] [--before-ref 6d66adc]
        [--gunicorn [--clients 8] [--seconds 10]]
"""

import argparse
import gc
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import timedelta
from importlib import import_module
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clients import clients_run
from ledger_benchdb import ROOT, throwaway_database

TARGET_RATIO = 0.6
# Issue 14 target 3: the layout's and the dashboard's own costs each at most this share of before.
TARGET_SHARE = 50
# Shared by this process (which signs the session) and gunicorn (which reads it).
SECRET_KEY = "bench-only-secret-key-not-for-production-0123456789"
GB = 1_000_000_000


def seed() -> str:
    """The customer, their cards and usage; returns a session cookie for them."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
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
    session = import_module(settings.SESSION_ENGINE).SessionStore()
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


PATHS = {"trivial": "/bench/ping/", "shell": "/bench/page/", "dashboard": "/"}


class InProcess:
    """The three views through Django's WSGI handler in this process, warmed; one round at a time."""

    def __init__(self, cookie: str) -> None:
        from django.core.handlers.wsgi import WSGIHandler
        from django.db import connection
        from django.test import RequestFactory
        from django.test.utils import CaptureQueriesContext

        self.handler = WSGIHandler()
        self.factory = RequestFactory()
        self.cookie = cookie
        self.results: dict[str, dict] = {}
        for name, path in PATHS.items():
            for _ in range(20):  # warm: templates compiled and cached, connection open, caches filled
                self.get(path)
            with CaptureQueriesContext(connection) as queries:
                body = self.get(path)
            self.results[name] = {
                "queries": len(queries),
                "bytes": len(body),
                "samples": [],
                "cpu_samples": [],
            }

    def get(self, path: str) -> bytes:
        environ = self.factory._base_environ(
            PATH_INFO=path, HTTP_COOKIE=self.cookie, HTTP_ACCEPT_LANGUAGE="en", SERVER_NAME="127.0.0.1"
        )
        status = []
        body = b"".join(self.handler(environ, lambda code, headers, exc_info=None: status.append(code)))
        if not status[0].startswith("200"):
            raise SystemExit(f"{path} answered {status[0]}")
        return body

    def round(self, number: int, requests: int) -> dict[str, tuple[float, float]]:
        """Wall and CPU milliseconds per request of each view, in an order that alternates by round."""
        measured = {}
        order = list(PATHS) if number % 2 == 0 else list(reversed(PATHS))
        for name in order:
            gc.collect()
            started, cpu_started = time.perf_counter(), time.process_time()
            for _ in range(requests):
                self.get(PATHS[name])
            measured[name] = (
                (time.perf_counter() - started) * 1000 / requests,
                (time.process_time() - cpu_started) * 1000 / requests,
            )
        return measured


def summarise(results: dict[str, dict]) -> dict[str, dict]:
    for result in results.values():
        result["ms"] = statistics.median(result["samples"])
        result["cpu_ms"] = statistics.median(result["cpu_samples"])
    return results


def in_process(cookie: str, requests: int, rounds: int) -> dict[str, dict]:
    """Median milliseconds per request and queries per request of each view, through the WSGI handler."""
    measure = InProcess(cookie)
    for number in range(rounds):
        for name, (wall, cpu) in measure.round(number, requests).items():
            measure.results[name]["samples"].append(wall)
            measure.results[name]["cpu_samples"].append(cpu)
    return summarise(measure.results)


def worker(root: Path, database: str) -> None:
    """--worker: the code checked out at `root` measured in this process, one round per line read
    ("<round> <requests>") and one JSON line written back, so that two checkouts (before and after)
    take turns on the same machine."""
    import ledger_benchdb

    ledger_benchdb.ROOT = root  # the checkout's portal first on sys.path, this bench's helpers after
    with throwaway_database(database):
        measure = InProcess(seed())
        print(
            json.dumps(
                {name: {"queries": r["queries"], "bytes": r["bytes"]} for name, r in measure.results.items()}
            )
        )
        sys.stdout.flush()
        for line in sys.stdin:
            if not line.strip():
                break
            number, requests = (int(value) for value in line.split())
            print(json.dumps(measure.round(number, requests)))
            sys.stdout.flush()


@contextmanager
def checkout(ref: str):
    """A temporary `git worktree` of `ref` sharing this checkout's .venv; removed afterwards."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", f"{ref}^{{commit}}"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-before-") as parent:
        tree = Path(parent) / commit
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--quiet", str(tree), commit], cwd=ROOT, check=True
        )
        try:
            (tree / ".venv").symlink_to((ROOT / ".venv").resolve())
            yield commit, tree
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)


def before_and_after(ref: str, requests: int, rounds: int) -> tuple[str, dict[str, dict], dict[str, dict]]:
    """The same measurement of this checkout and of `ref`, each in its own process and database,
    round for round in turn (which goes first alternates), so both see the same load."""
    with checkout(ref) as (commit, tree):
        workers = {}
        try:
            for label, root in (("after", ROOT), ("before", tree)):
                database = f"portal_bench_dashboard_{label}_{os.getpid()}"
                command = [sys.executable, str(Path(__file__).resolve()), "--worker", str(root)]
                environment = {**os.environ, "BENCH_CACHE_PREFIX": f"bench-{label}-{os.getpid()}"}
                workers[label] = subprocess.Popen(
                    [*command, "--worker-database", database],
                    cwd=root,
                    env=environment,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
            results = {}
            for label, process in workers.items():
                first = json.loads(process.stdout.readline())
                results[label] = {
                    name: {**value, "samples": [], "cpu_samples": []} for name, value in first.items()
                }
            for number in range(rounds):
                for label in ("after", "before") if number % 2 == 0 else ("before", "after"):
                    process = workers[label]
                    process.stdin.write(f"{number} {requests}\n")
                    process.stdin.flush()
                    for name, (wall, cpu) in json.loads(process.stdout.readline()).items():
                        results[label][name]["samples"].append(wall)
                        results[label][name]["cpu_samples"].append(cpu)
        finally:
            for process in workers.values():
                if process.stdin:
                    process.stdin.close()
            for process in workers.values():
                if process.wait(120):
                    raise SystemExit(f"a measuring process failed ({process.returncode})")
    return commit, summarise(results["before"]), summarise(results["after"])


def own_costs(results: dict[str, dict]) -> dict[str, tuple[float, float]]:
    """layout = shell - trivial, dashboard = dashboard - shell: (wall, CPU) ms."""
    return {
        key: (
            results[larger]["ms"] - results[smaller]["ms"],
            results[larger]["cpu_ms"] - results[smaller]["cpu_ms"],
        )
        for key, larger, smaller in (("layout", "shell", "trivial"), ("dashboard", "dashboard", "shell"))
    }


def in_process_print(results: dict[str, dict], requests: int, rounds: int, prefix: str = "") -> None:
    if not prefix:
        print(
            f"in-process, WSGI handler, DEBUG off: {requests} requests x {rounds} interleaved rounds"
            f" (load {os.getloadavg()[0]:.1f})"
        )
        print(
            "wall = elapsed time per request; CPU = the measuring process's CPU time (less sensitive to load)"
        )
        print(f"{'view':<28}{'wall ms':>9}{'CPU ms':>9}{'queries':>9}{'KB':>8}")
    for label, name in (
        ("trivial view, logged in", "trivial"),
        ("page shell, logged in", "shell"),
        ("dashboard (3 cards)", "dashboard"),
    ):
        result = results[name]
        print(
            f"{prefix + label:<28}{result['ms']:>9.2f}{result['cpu_ms']:>9.2f}{result['queries']:>9}"
            f"{result['bytes'] / 1024:>8.1f}"
        )
    costs = own_costs(results)
    for label, key, formula in (
        ("layout own cost", "layout", "shell - trivial"),
        ("dashboard own cost", "dashboard", "dashboard - shell"),
    ):
        wall, cpu = costs[key]
        print(f"{prefix}{label} ({formula}): {wall:.2f} ms wall, {cpu:.2f} ms CPU")


def verdict_print(commit: str, before: dict[str, dict], after: dict[str, dict]) -> None:
    costs_before, costs_after = own_costs(before), own_costs(after)
    shares = {key: 100 * costs_after[key][1] / costs_before[key][1] for key in costs_before}
    met = all(share <= TARGET_SHARE for share in shares.values())
    print(
        f"verdict (CPU, same run): layout own {shares['layout']:.0f}% of before, dashboard own"
        f" {shares['dashboard']:.0f}% of before, target <= {TARGET_SHARE}%: {'met' if met else 'NOT MET'}"
        f" (before = {commit}; load {os.getloadavg()[0]:.1f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="in-process requests per view per round")
    parser.add_argument("--in-process-rounds", type=int, default=7)
    parser.add_argument("--gunicorn", action="store_true", help="also measure throughput under gunicorn")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5, help="alternate the three views this many times")
    parser.add_argument(
        "--before-ref",
        metavar="REF",
        help="also measure this commit (e.g. 6d66adc, main before issue 14) in a temporary git worktree,"
        " round for round in turn with this checkout, and print the verdict against it",
    )
    parser.add_argument("--worker", metavar="ROOT", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--worker-database", help=argparse.SUPPRESS)
    options = parser.parse_args()
    # The portal as deployed (DEBUG off: cached template loader, no debug cursor), plus the baselines.
    os.environ.update(
        SECRET_KEY=SECRET_KEY,
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false",
        PAYMENTS_DEMO="1",  # production settings, demo payments on purpose
        DJANGO_SETTINGS_MODULE="dashboard_settings",
    )

    if options.worker:
        worker(options.worker, options.worker_database)
        return
    if options.before_ref:
        commit, before, after = before_and_after(
            options.before_ref, options.requests, options.in_process_rounds
        )
        in_process_print(after, options.requests, options.in_process_rounds)
        print(
            f"before ({commit}, the same measurement in turn with the above, its own process and database):"
        )
        in_process_print(before, options.requests, options.in_process_rounds, prefix="before: ")
        verdict_print(commit, before, after)
        if not options.gunicorn:
            return

    with throwaway_database("portal_bench_dashboard"):
        cookie = seed()
        if not options.before_ref:
            results = in_process(cookie, options.requests, options.in_process_rounds)
            in_process_print(results, options.requests, options.in_process_rounds)
        if not options.gunicorn:
            return
        port = free_port()
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "bench"), str(ROOT)])}
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
