import sys
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from billing.exports import ExportFilter, orders_in_range, write_export
from billing.models import Order


class Command(BaseCommand):
    help = "Export orders (one row per order) to CSV or XLSX, for scheduled finance exports."
    # A scheduled job: the system checks load every URL and template module for nothing here.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", required=True, help="First Monaco day, YYYY-MM-DD")
        parser.add_argument("--to", dest="end", required=True, help="Last Monaco day (included), YYYY-MM-DD")
        parser.add_argument("--format", dest="file_format", choices=["csv", "xlsx"], default="csv")
        parser.add_argument(
            "--output", required=True, help="File to write ('-' for standard output, CSV only)"
        )
        parser.add_argument(
            "--status", action="append", default=[], choices=Order.Status.values, help="Repeat for several"
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar")

    def handle(self, *, start, end, file_format, output, status, no_progress, **options):
        try:
            export_filter = ExportFilter(date.fromisoformat(start), date.fromisoformat(end), tuple(status))
        except ValueError as error:
            raise CommandError(f"Dates must be YYYY-MM-DD: {error}") from error
        if export_filter.start > export_filter.end:
            raise CommandError("--from must not be after --to.")
        if output == "-" and file_format != "csv":
            raise CommandError("Only CSV can be written to standard output.")

        total = orders_in_range(export_filter).count()
        bar = tqdm(total=total, unit="rows", disable=no_progress, file=sys.stderr)
        last = 0

        def progress(done: int) -> None:
            nonlocal last
            bar.update(done - last)
            last = done

        target = sys.stdout.buffer if output == "-" else output
        write_export(export_filter, file_format, target, progress=progress)
        bar.close()
        if output != "-":
            self.stderr.write(f"{last} orders written to {output}")
