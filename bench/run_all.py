"""Run every benchmark of the project, one after the other, and print one table.

    .venv/bin/python bench/run_all.py                 # everything at full size (about 10 minutes)
    .venv/bin/python bench/run_all.py --quick         # smaller sizes, a smoke run (about 3 minutes)
    .venv/bin/python bench/run_all.py --only dashboard,usage_ingest
    python3 dev.py bench [same options]

Each benchmark is its own script in bench/ and measures its own baseline in the same run; this
runner starts them in turn (never two at once: they would measure each other), keeps each one's
full output in var/bench/logs/<name>.log, reads its figures from that output and prints one
table: figure, baseline, ratio, target, verdict, and the machine's load average around the run.
Exit status 1 if a benchmark crashed, failed its own consistency checks or printed nothing we can
read; a missed target alone exits 0 unless --strict.
"""

import argparse
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOGS = ROOT / "var" / "bench" / "logs"
NUMBER = r"([\d,]+(?:\.\d+)?)"


def number(text: str) -> float:
    return float(text.replace(",", ""))


@dataclass
class Row:
    benchmark: str
    figure: str
    baseline: str = "-"
    ratio: str = "-"
    target: str = "-"
    verdict: str = "-"


@dataclass
class Benchmark:
    name: str
    script: str
    args: list[str] = field(default_factory=list)
    quick: list[str] = field(default_factory=list)
    parse: object = None


def find(pattern: str, output: str, flags=0) -> re.Match:
    match = re.search(pattern, output, flags | re.MULTILINE)
    if match is None:
        raise ValueError(f"no line matching {pattern!r}")
    return match


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


# The layout's and the dashboard's own CPU cost per request on main before issue 14 (6d66adc,
# bench/README.md "Traveller pages"): the target is each halved. dashboard.py measures that commit
# in the same run (--before-ref); these figures only stand in when its log has no "before:" lines.
DASHBOARD_BEFORE_REF = "6d66adc"
DASHBOARD_BEFORE_CPU_MS = {"layout": 1.39, "dashboard": 5.81}


def parse_dashboard(output: str) -> list[Row]:
    view = r"\s+" + NUMBER + r"\s+" + NUMBER + r"\s+(\d+)\s+" + NUMBER + "$"
    trivial = find(r"^trivial view, logged in" + view, output)
    rows = [
        Row(
            "trivial page, logged in (in-process)",
            f"{trivial.group(2)} ms CPU, {trivial.group(1)} ms wall, {trivial.group(3)} queries",
        )
    ]
    before_trivial = re.search(r"^before: trivial view, logged in" + view, output, re.M)
    if before_trivial:
        rows[0].baseline = f"before: {before_trivial.group(2)} ms CPU, {before_trivial.group(3)} queries"
        rows[0].ratio = f"{number(trivial.group(2)) / number(before_trivial.group(2)):.2f}"
    for key, label in (("layout", "layout own cost"), ("dashboard", "dashboard own cost")):
        cost = find(r"^" + label + r" \(.*\): " + NUMBER + r" ms wall, " + NUMBER + r" ms CPU", output)
        cpu = number(cost.group(2))
        measured = re.search(
            r"^before: " + label + r" \(.*\): " + NUMBER + r" ms wall, " + NUMBER + r" ms CPU", output, re.M
        )
        if measured:
            before, source = number(measured.group(2)), "same run"
        else:
            before, source = DASHBOARD_BEFORE_CPU_MS[key], "README"
        rows.append(
            Row(
                f"{label} (in-process)",
                f"{cpu:.2f} ms CPU ({cost.group(1)} ms wall)",
                f"before ({DASHBOARD_BEFORE_REF}, {source}): {before:.2f} ms CPU",
                f"{cpu / before:.2f}",
                "<= 0.50 x before",
                verdict(cpu <= before / 2),
            )
        )
    gunicorn = re.search(
        r"^dashboard \(3 cards\)\s+" + NUMBER + r"\s+" + NUMBER + r"\s+" + NUMBER + r"\s+\d+$", output, re.M
    )
    ping = re.search(r"^trivial, logged in\s+" + NUMBER, output, re.M)
    if gunicorn and ping:
        ratio = number(gunicorn.group(1)) / number(ping.group(1))
        rows.append(
            Row(
                "  dashboard under gunicorn",
                f"{number(gunicorn.group(1)):,.0f} req/s",
                f"trivial {number(ping.group(1)):,.0f} req/s",
                f"{ratio:.2f}",
            )
        )
    return rows


def parse_usage_ingest(output: str) -> list[Row]:
    service = find(r"^usage ingest: " + NUMBER + r" records in " + NUMBER + r" s = " + NUMBER, output)
    baseline = find(r"^baseline .*: " + NUMBER + r" s = " + NUMBER + r" rows/s", output)
    rate = number(service.group(3))
    ratio = rate / number(baseline.group(2))
    rows = [
        Row(
            f"usage ingest, {service.group(1)} records",
            f"{rate:,.0f} records/s ({service.group(2)} s)",
            f"COPY {number(baseline.group(2)):,.0f} rows/s ({baseline.group(1)} s)",
            f"{ratio:.2f}",
            ">= 0.5x COPY",
            verdict(ratio >= 0.5),
        )
    ]
    repeat = re.search(r"^re-delivery of " + NUMBER + r" records .*= " + NUMBER + " records/s", output, re.M)
    if repeat:
        rows.append(Row(f"  re-delivery, {repeat.group(1)} duplicates", f"{repeat.group(2)} records/s"))
    return rows


def parse_expiry_sweep(output: str) -> list[Row]:
    sweep = find(r"^expiry sweep: " + NUMBER + r" cards forfeited in " + NUMBER + " s", output)
    baseline = find(r"^baseline .*: " + NUMBER + " s", output)
    seconds = number(sweep.group(2))
    return [
        Row(
            f"expiry sweep, {sweep.group(1)} cards",
            f"{seconds:.2f} s",
            f"bare INSERT+UPDATE {baseline.group(1)} s",
            f"{seconds / number(baseline.group(1)):.1f}x time",
            "<= 2x bare SQL",
            verdict(seconds / number(baseline.group(1)) <= 2),
        )
    ]


def parse_export_orders(output: str) -> list[Row]:
    orders = re.search(r"^" + NUMBER + " orders in", output, re.M)
    copy = find(r"^COPY \(psql\)\s*:\s*" + NUMBER + r" s\s+peak RSS\s+" + NUMBER + " MB", output)
    export = find(r"^export_orders \(CSV\)\s*:\s*" + NUMBER + r" s\s+peak RSS\s+" + NUMBER + " MB", output)
    wall, rss = number(export.group(1)), number(export.group(2))
    ratio = wall / number(copy.group(1))
    size = f", {orders.group(1)} orders" if orders else ""
    return [
        Row(
            f"finance CSV export{size}",
            f"{wall:.2f} s",
            f"psql COPY {copy.group(1)} s",
            f"{ratio:.2f}x time",
            "<= 1.5x COPY",
            verdict(ratio <= 1.5),
        ),
        Row(
            "  export peak memory",
            f"{rss:.0f} MB RSS",
            f"psql COPY {copy.group(2)} MB",
            "",
            "< 200 MB",
            verdict(rss < 200),
        ),
    ]


def parse_finance_revenue(output: str) -> list[Row]:
    page = find(
        r"^revenue page: best "
        + NUMBER
        + r" ms, median "
        + NUMBER
        + r" ms, "
        + NUMBER
        + r" KB, (\d+) queries",
        output,
    )
    baseline = find(r"^baseline .*: " + NUMBER + " ms", output)
    orders = find(r"^" + NUMBER + " orders, revenue for", output)
    median = number(page.group(2))
    return [
        Row(
            f"finance revenue, one year of {orders.group(1)} orders",
            f"median {median:.0f} ms, {page.group(3)} KB, {page.group(4)} queries",
            f"bare per-day SQL over the orders {baseline.group(1)} ms",
            f"{median / max(number(baseline.group(1)), 1):.2f}x time",
            "< 500 ms",
            verdict(median < 500),
        )
    ]


def parse_payment_to_renewal(output: str) -> list[Row]:
    columns = r"\s+" + NUMBER + r"\s+" + NUMBER + r"\s+" + NUMBER + r"\s+" + NUMBER
    latency = find(r"^POST -> expiry committed" + columns, output)
    response = find(r"^webhook response" + columns, output)
    header = find(r"^(\d+) webhooks at ([\d.]+)/s", output)
    missing = find(r"not renewed within .*?: (\d+)", output)
    p95 = number(latency.group(2)) / 1000
    rows = [
        Row(
            f"payment -> renewal, {header.group(1)} webhooks at {header.group(2)}/s",
            f"p50 {latency.group(1)} ms, p95 {latency.group(2)} ms, p99 {latency.group(3)} ms",
            f"webhook answer alone p95 {response.group(2)} ms",
            f"{p95 * 1000 / max(number(response.group(2)), 1):.1f}x",
            "p95 < 1 s, none lost",
            verdict(p95 < 1 and missing.group(1) == "0"),
        )
    ]
    notices = re.search(r"^notices: (\d+) sent, (\d+) pending; all sent (.*?) \(target", output, re.M)
    if notices:
        rows.append(
            Row(
                "  confirmations drained",
                f"{notices.group(1)} sent, {notices.group(3)}",
                "",
                "",
                "<= 120 s after",
                verdict(notices.group(2) == "0" and "NOT" not in notices.group(3)),
            )
        )
    scaling = re.search(r"^scaling: (.*?) renewals/s with (.*?) processes = ([\d.]+)x", output, re.M)
    if scaling:
        rows.append(
            Row(
                f"  renewals/s with {scaling.group(2)} worker processes",
                scaling.group(1),
                "1 process",
                f"{scaling.group(3)}x",
                "rising",
                verdict(number(scaling.group(3)) > 1),
            )
        )
    return rows


def parse_renewal_task(output: str) -> list[Row]:
    columns = r"\s+" + NUMBER + r"\s+" + NUMBER + r"\s+" + NUMBER + r"\s+" + NUMBER
    event = find(r"^renewal by Stripe event \(task\)" + columns, output)
    paid = find(r"^renewal of a paid order \(task\)" + columns, output)
    bare = find(r"^baseline: bare SQL of a renewal" + columns, output)
    mean = number(event.group(1))
    return [
        Row(
            "renewal task (Stripe event), in-process",
            f"{mean:.1f} ms mean, {event.group(4)} queries",
            f"bare SQL {bare.group(1)} ms, {bare.group(4)} queries",
            f"{mean / number(bare.group(1)):.1f}x time",
            "<= 15 ms mean",
            verdict(mean <= 15),
        ),
        Row("  renewal of a paid order", f"{paid.group(1)} ms mean, {paid.group(4)} queries"),
    ]


def parse_webhook_endpoint(output: str) -> list[Row]:
    rate = find(
        NUMBER
        + r" requests/s; p50 "
        + NUMBER
        + r" ms, p95 "
        + NUMBER
        + r" ms, p99 "
        + NUMBER
        + r" ms; errors (\d+)",
        output,
    )
    return [
        Row(
            "webhook endpoint alone (work queued)",
            f"{number(rate.group(1)):,.0f} req/s, p95 {rate.group(3)} ms, errors {rate.group(5)}",
            "-",
            "-",
            "none set",
            "-" if rate.group(5) == "0" else "ERRORS",
        )
    ]


def parse_admin_scale(output: str) -> list[Row]:
    line = re.compile(
        r"^(?P<label>(?:search|changelist|customer page|baseline).*?)\s+"
        + NUMBER
        + r"\s+"
        + NUMBER
        + r"\s+"
        + NUMBER
        + r"\s+(?:< (?P<target>\d+) ms\s+(?P<verdict>met|MISSED))?\s*$",
        re.MULTILINE,
    )
    pages = [
        (m.group("label"), number(m.group(2)), m.group("target"), m.group("verdict"))
        for m in line.finditer(output)
    ]
    baseline = next(median for label, median, _, _ in pages if label.startswith("baseline: admin index"))
    find(r"^admin at scale: \d+/\d+ targets met", output)
    rows = []
    for title, prefix in (
        ("admin search, every key on customers, orders, cards", "search"),
        ("admin changelists, unfiltered", "changelist"),
        ("admin customer page, 365 orders", "customer page"),
    ):
        group = [page for page in pages if page[0].startswith(prefix)]
        if not group:
            raise ValueError(f"no {prefix} lines")
        worst = max(group, key=lambda page: page[1])
        met = sum(page[3] == "met" for page in group)
        rows.append(
            Row(
                f"{title} ({len(group)})",
                f"slowest median {worst[1]:.0f} ms ({worst[0][:60]}); {met}/{len(group)} met",
                f"admin index {baseline:.0f} ms",
                f"{worst[1] / baseline:.1f}x time",
                f"< {worst[2]} ms each",
                verdict(met == len(group)),
            )
        )
    return rows


BENCHMARKS = [
    Benchmark(
        "dashboard",
        "dashboard.py",
        ["--before-ref", DASHBOARD_BEFORE_REF],
        ["--before-ref", DASHBOARD_BEFORE_REF, "--requests", "100", "--in-process-rounds", "5"],
        parse_dashboard,
    ),
    Benchmark("usage_ingest", "usage_ingest.py", [], ["--records", "200000"], parse_usage_ingest),
    Benchmark("expiry_sweep", "expiry_sweep.py", [], ["--cards", "20000"], parse_expiry_sweep),
    Benchmark(
        "export_orders",
        "export_orders.py",
        [],
        ["--orders", "100000", "--users", "10000"],
        parse_export_orders,
    ),
    Benchmark(
        "finance_revenue",
        "finance_revenue.py",
        [],
        ["--orders", "100000", "--users", "10000"],
        parse_finance_revenue,
    ),
    Benchmark("renewal_task", "renewal_task.py", [], ["--orders", "100"], parse_renewal_task),
    Benchmark(
        "payment_to_renewal",
        "payment_to_renewal.py",
        [],
        ["--seconds", "15", "--capacity", "300"],
        parse_payment_to_renewal,
    ),
    Benchmark("webhook_endpoint", "webhook_endpoint.py", [], ["--seconds", "5"], parse_webhook_endpoint),
    Benchmark("admin_scale", "admin_scale.py", [], ["--quick", "--repeat", "3"], parse_admin_scale),
]


def load_average() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "?"


def reread(benchmark: Benchmark) -> tuple[list[Row], str, float, str]:
    """The rows of the last run's log, without running anything."""
    log = LOGS / f"{benchmark.name}.log"
    if not log.exists():
        return [], "no log from an earlier run", 0.0, "?"
    try:
        return benchmark.parse(log.read_text()), "", 0.0, "?"
    except (ValueError, ZeroDivisionError, AttributeError) as error:
        return [], f"could not read its figures ({error})", 0.0, "?"


def run(benchmark: Benchmark, *, quick: bool) -> tuple[list[Row], str, float, str]:
    """Run one benchmark script; its rows, a problem (or ""), its wall time and the load around it."""
    LOGS.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, str(ROOT / "bench" / benchmark.script)]
    command += benchmark.quick if quick else benchmark.args
    print(f"==> {benchmark.name}: {' '.join(command[1:])}", flush=True)
    load_before = load_average()
    started = time.monotonic()
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    completed = subprocess.run(
        command, cwd=ROOT, env=environment, capture_output=True, text=True, check=False
    )
    elapsed = time.monotonic() - started
    load = f"{load_before} -> {load_average()}"
    output = completed.stdout + completed.stderr
    (LOGS / f"{benchmark.name}.log").write_text(f"$ {' '.join(command)}\n{output}")
    print(completed.stdout, end="", flush=True)
    problem = ""
    rows: list[Row] = []
    try:
        rows = benchmark.parse(completed.stdout)
    except (ValueError, ZeroDivisionError, AttributeError) as error:
        problem = f"could not read its figures ({error})"
    if completed.returncode != 0:
        tail = completed.stderr.strip().splitlines()[-1:] or ["no message"]
        problem = f"exit status {completed.returncode}: {tail[0][:160]}"
    return rows, problem, elapsed, load


def table(rows: list[tuple[Row, str]]) -> str:
    headers = ("benchmark", "figure", "baseline (same run)", "ratio", "target", "verdict", "load 1 min")
    cells = [headers] + [
        (row.benchmark, row.figure, row.baseline, row.ratio, row.target, row.verdict, load)
        for row, load in rows
    ]
    widths = [max(len(line[column]) for line in cells) for column in range(len(headers))]
    lines = [
        "  ".join(value.ljust(width) for value, width in zip(line, widths, strict=True)).rstrip()
        for line in cells
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="smaller sizes: a smoke run, not the targets' sizes"
    )
    parser.add_argument(
        "--only", default="", help="comma-separated names: " + ", ".join(b.name for b in BENCHMARKS)
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed, too")
    parser.add_argument(
        "--from-logs", action="store_true", help="print the table of the last run's logs again"
    )
    options = parser.parse_args()
    chosen = [name for name in options.only.split(",") if name]
    unknown = set(chosen) - {benchmark.name for benchmark in BENCHMARKS}
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")

    results: list[tuple[Row, str]] = []
    problems: list[str] = []
    started = time.monotonic()
    for benchmark in BENCHMARKS:
        if chosen and benchmark.name not in chosen:
            continue
        if options.from_logs:
            rows, problem, elapsed, load = reread(benchmark)
        else:
            rows, problem, elapsed, load = run(benchmark, quick=options.quick)
        if problem:
            problems.append(f"{benchmark.name}: {problem} (log: {LOGS / (benchmark.name + '.log')})")
            rows = rows or [Row(benchmark.name, "FAILED", verdict="FAILED")]
        for index, row in enumerate(rows):
            results.append((row, load if index == 0 else ""))
        print(f"    ({elapsed:.0f} s)\n", flush=True)

    size = "quick sizes (--quick): NOT the targets' sizes" if options.quick else "full sizes"
    print(f"\nBenchmarks, {size}; {time.monotonic() - started:.0f} s in all; logs in {LOGS}\n")
    print(table(results))
    for problem in problems:
        print(f"FAILED {problem}")
    missed = [row.benchmark.strip() for row, _ in results if row.verdict in {"MISSED", "ERRORS"}]
    if missed:
        print("targets missed: " + "; ".join(missed))
    if problems:
        return 1
    return 1 if options.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
