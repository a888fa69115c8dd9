"""The invoice register for finance: every invoice and credit note issued in a range of Monaco days.

One row per document in number order, then totals per kind and VAT rate. The register reconciles
with the revenue report: an invoice carries its order's paid amount and the VAT of that amount
(the same `portal.lib.money.vat_included` rounding), and the credit notes of an order add up to its refunds, so
for orders paid and invoiced in the same days the register's invoice totals equal the revenue
report's gross and VAT for those orders, and its credit notes their refunds (tests/finance).
"""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Max, Min, QuerySet, Sum
from django.utils.translation import gettext_lazy as _

from billing.exports import (
    FORMULA_TRIGGERS,
    MONACO,
    UTC,
    ExportFilter,
    _cents_text,
    _wall_clock_text,
    monaco_day_bounds,
    orders_in_range,
)
from billing.models import Invoice
from billing.selectors import PAID_STATUSES

REGISTER_COLUMNS = [
    ("number", _("Number")),
    ("kind", _("Document")),
    ("reason", _("Reason")),
    ("issued_utc", _("Issued (UTC)")),
    ("issued_monaco", _("Issued (Monaco time)")),
    ("order", _("Order number")),
    ("corrects", _("Corrects invoice")),
    ("buyer_name", _("Buyer")),
    ("buyer_country", _("Buyer country")),
    ("buyer_vat_id", _("Buyer VAT number")),
    ("vat_rate", _("VAT rate (%)")),
    ("net", _("Taxable amount")),
    ("vat", _("VAT amount")),
    ("gross", _("Total (VAT included)")),
    ("currency", _("Currency")),
]


@dataclass(frozen=True)
class RegisterTotal:
    kind: str
    vat_rate_bp: int
    currency: str
    count: int
    net: int
    vat: int
    gross: int

    @property
    def kind_label(self) -> str:
        return str(Invoice.Kind(self.kind).label)

    @property
    def vat_percent(self) -> str:
        return f"{self.vat_rate_bp / 100:g}"


@dataclass(frozen=True)
class SeriesRun:
    """The numbers of one series and year found in the range, and whether they run without a gap."""

    kind: str
    year: int
    first: str
    last: str
    count: int
    contiguous: bool


def register_documents(*, start: date, end: date) -> QuerySet[Invoice]:
    lower, upper = monaco_day_bounds(start, end)
    return Invoice.objects.filter(issued_at__gte=lower, issued_at__lt=upper)


def register_totals(*, start: date, end: date) -> list[RegisterTotal]:
    rows = (
        register_documents(start=start, end=end)
        .values("kind", "vat_rate_bp", "currency")
        .annotate(count=Count("id"), net=Sum("net_cents"), vat=Sum("vat_cents"), gross=Sum("gross_cents"))
        .order_by("-kind", "vat_rate_bp", "currency")
    )
    return [
        RegisterTotal(
            kind=row["kind"],
            vat_rate_bp=row["vat_rate_bp"],
            currency=row["currency"],
            count=row["count"],
            net=row["net"] or 0,
            vat=row["vat"] or 0,
            gross=row["gross"] or 0,
        )
        for row in rows
    ]


def register_series(*, start: date, end: date) -> list[SeriesRun]:
    """Per series and year: the first and last number in the range and whether none is missing
    between them, nor between the first one and the end of the previous range."""
    runs = []
    groups = (
        register_documents(start=start, end=end)
        .values("kind", "year")
        .annotate(count=Count("id"), first=Min("sequence"), last=Max("sequence"))
        .order_by("-kind", "year")
    )
    for group in groups:
        follows_previous = (
            group["first"] == 1
            or Invoice.objects.filter(
                kind=group["kind"], year=group["year"], sequence=group["first"] - 1
            ).exists()
        )
        first = Invoice.objects.get(kind=group["kind"], year=group["year"], sequence=group["first"])
        last = Invoice.objects.get(kind=group["kind"], year=group["year"], sequence=group["last"])
        runs.append(
            SeriesRun(
                kind=group["kind"],
                year=group["year"],
                first=first.number,
                last=last.number,
                count=group["count"],
                contiguous=follows_previous and group["last"] - group["first"] + 1 == group["count"],
            )
        )
    return runs


def invoiced_orders_gross(*, start: date, end: date) -> dict[str, int]:
    """Orders paid in the range (the revenue report's orders) that have an invoice: count and gross."""
    orders = orders_in_range(ExportFilter(start, end, PAID_STATUSES)).filter(
        invoices__kind=Invoice.Kind.INVOICE
    )
    totals = orders.aggregate(
        count=Count("id"), charged=Sum("amount_charged_cents"), wallet=Sum("wallet_applied_cents")
    )
    return {"count": totals["count"] or 0, "gross": (totals["charged"] or 0) + (totals["wallet"] or 0)}


def _text(value: str) -> str:
    return "'" + value if value[:1] in FORMULA_TRIGGERS else value


def register_rows(*, start: date, end: date) -> Iterator[list[str]]:
    documents = (
        register_documents(start=start, end=end)
        .annotate(
            issued_utc=_wall_clock_text("issued_at", UTC), issued_monaco=_wall_clock_text("issued_at", MONACO)
        )
        .order_by("-kind", "year", "sequence")
        .values_list(
            "number",
            "kind",
            "reason",
            "issued_utc",
            "issued_monaco",
            "order__number",
            "corrects__number",
            "buyer_name",
            "buyer_country",
            "buyer_vat_id",
            "vat_rate_bp",
            "net_cents",
            "vat_cents",
            "gross_cents",
            "currency",
        )
    )
    for (
        number,
        kind,
        reason,
        utc,
        monaco,
        order,
        corrects,
        buyer,
        country,
        vat_id,
        rate,
        net,
        vat,
        gross,
        currency,
    ) in documents.iterator(chunk_size=2000):
        yield [
            number,
            kind,
            reason,
            utc,
            monaco,
            order or "",
            corrects or "",
            _text(buyer),
            country,
            _text(vat_id),
            _cents_text(rate),
            _cents_text(net),
            _cents_text(vat),
            _cents_text(gross),
            currency,
        ]


def register_header() -> list[str]:
    return [str(label) for _key, label in REGISTER_COLUMNS]


TOTALS_HEADER = [
    _("Totals"),
    _("Document"),
    _("VAT rate (%)"),
    _("Count"),
    _("Taxable amount"),
    _("VAT amount"),
    _("Total (VAT included)"),
    _("Currency"),
]


def _totals_rows(*, start: date, end: date) -> list[list[str]]:
    rows = [[str(label) for label in TOTALS_HEADER]]
    for total in register_totals(start=start, end=end):
        rows.append(
            [
                "",
                total.kind,
                _cents_text(total.vat_rate_bp),
                str(total.count),
                _cents_text(total.net),
                _cents_text(total.vat),
                _cents_text(total.gross),
                total.currency,
            ]
        )
    for run in register_series(start=start, end=end):
        state = _("no number missing") if run.contiguous else _("NUMBERS MISSING")
        rows.append(["", run.kind, str(run.year), str(run.count), run.first, run.last, str(state), ""])
    return rows


def register_csv(*, start: date, end: date) -> Iterator[bytes]:
    """UTF-8 with a byte-order mark (Excel reads Chinese names right): the rows, a blank line, the totals."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(register_header())
    yield ("\ufeff" + buffer.getvalue()).encode()
    rows = register_rows(start=start, end=end)
    while True:
        buffer.seek(0)
        buffer.truncate()
        chunk = [row for _index, row in zip(range(2000), rows, strict=False)]
        if not chunk:
            break
        writer.writerows(chunk)
        yield buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    writer.writerow([])
    writer.writerows(_totals_rows(start=start, end=end))
    yield buffer.getvalue().encode()


def register_xlsx(*, start: date, end: date, target) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(str(_("Invoice register")))
    sheet.append(register_header())
    for row in register_rows(start=start, end=end):
        sheet.append(row)
    totals = workbook.create_sheet(str(_("Totals")))
    for row in _totals_rows(start=start, end=end):
        totals.append(row)
    workbook.save(target)
