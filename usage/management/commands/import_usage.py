"""manage.py import_usage FILE: carrier usage from CSV or JSON Lines, streamed in chunks.

CSV needs a header row with record_id, iccid, start, end, bytes (other columns are ignored).
JSON Lines holds one record object per line. Re-importing a file applies nothing twice.
"""

import csv
import json
import sys
from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from usage.feeds import CHUNK_SIZE, UsageApplyResult, usage_records_apply

FIELDS = ("record_id", "iccid", "start", "end", "bytes")
SHOWN_FAILURES = 20


class Command(BaseCommand):
    help = "Import carrier usage records from a CSV or JSON Lines file (idempotent per record_id)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path to a .csv, .jsonl or .ndjson file ('-' reads standard input).")
        parser.add_argument(
            "--format", choices=["csv", "jsonl"], help="Override the format guessed from the name."
        )
        parser.add_argument(
            "--chunk-size", type=int, default=CHUNK_SIZE, help="Records applied per transaction."
        )
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")
        parser.add_argument(
            "--durable",
            action="store_true",
            help="Wait for each batch to reach the disk before the next (slower). Without it, a database"
            " crash may lose the last second of batches: import the file again to apply them.",
        )

    def handle(self, *args, **options):
        path = options["file"]
        file_format = options["format"] or _guess_format(path)
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1.")
        if path == "-":
            stream, total = sys.stdin.buffer, None
        else:
            try:
                stream = Path(path).open("rb")  # noqa: SIM115 -- closed by the with-block below
                total = Path(path).stat().st_size
            except OSError as error:
                raise CommandError(f"Cannot read {path}: {error}") from error

        summary = UsageApplyResult()
        failures_by_reason: Counter[str] = Counter()
        shown: list[str] = []
        read = 0
        progress = tqdm(
            total=total,
            unit="B",
            unit_scale=True,
            desc="usage",
            disable=options["no_progress"],
            file=self.stderr,
        )
        with stream, progress:
            counted = _CountingLines(stream, progress)
            rows = _csv_rows(counted) if file_format == "csv" else _jsonl_rows(counted)
            chunk: list[tuple[int, dict]] = []
            for line_number, record in rows:
                read += 1
                chunk.append((line_number, record))
                if len(chunk) >= options["chunk_size"]:
                    self._apply(chunk, summary, failures_by_reason, shown, options["durable"])
                    chunk = []
            if chunk:
                self._apply(chunk, summary, failures_by_reason, shown, options["durable"])

        self.stdout.write(
            f"Read {read} records: {summary.applied} applied, {len(summary.duplicates)} already applied"
            f" (duplicates), {sum(failures_by_reason.values())} failed."
        )
        for reason, count in sorted(failures_by_reason.items()):
            self.stdout.write(f"  {reason}: {count}")
        for line in shown:
            self.stdout.write(f"  {line}")
        if failures_by_reason:
            raise SystemExit(1)

    def _apply(self, chunk, summary, failures_by_reason, shown, durable):
        lines = [line_number for line_number, _ in chunk]
        records = [record for _, record in chunk]
        result = usage_records_apply(records=records, now=timezone.now(), durable=durable)
        summary.applied += result.applied
        summary.duplicates.extend(result.duplicates)
        for failure in result.failures:
            failures_by_reason[failure.error] += 1
            if len(shown) < SHOWN_FAILURES:
                line = lines[failure.index] if failure.index is not None else "?"
                shown.append(f"line {line}: {failure.record_id or '(no id)'}: {failure.message}")


def _guess_format(path: str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in {".jsonl", ".ndjson", ".json"}:
        return "jsonl"
    raise CommandError("Cannot tell the format from the file name: pass --format csv or --format jsonl.")


class _CountingLines:
    """Decoded lines from a binary stream, advancing the progress bar by the bytes consumed."""

    def __init__(self, stream, progress):
        self.stream = stream
        self.progress = progress

    def __iter__(self):
        pending = 0
        encoding = "utf-8-sig"  # Excel starts CSV files with a byte-order mark
        for raw in self.stream:
            pending += len(raw)
            if pending >= 1 << 20:
                self.progress.update(pending)
                pending = 0
            # An undecodable byte fails that record's validation instead of stopping the import.
            yield raw.decode(encoding, errors="replace")
            encoding = "utf-8"
        self.progress.update(pending)


def _csv_rows(lines):
    reader = csv.DictReader(lines)
    missing = [name for name in FIELDS if name not in (reader.fieldnames or [])]
    if missing:
        raise CommandError(f"The CSV header lacks: {', '.join(missing)}.")
    for row in reader:
        yield reader.line_num, {name: row.get(name) for name in FIELDS}


def _jsonl_rows(lines):
    for line_number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = line  # reported as "not a record object" with its line number
        yield line_number, record
