"""Order records for finance: one row per order, as CSV (UTF-8 with BOM) or XLSX, streamed.

Rows come from a server-side cursor in chunks, so a million orders neither time out nor fill memory.
The revenue report sums the same per-order figures in SQL; both use `portal.lib.money.vat_included` rounding, so their
totals agree to the cent for the same range (the test suite checks it).
"""

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import islice
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BigIntegerField, CharField, Count, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast, Coalesce, NullIf, TruncDate, TruncSecond
from django.utils.translation import gettext_lazy as _

from billing.models import Invoice, Order, Refund, RevenueDay, Withdrawal
from billing.selectors import PAID_STATUSES
from portal.lib.money import vat_included, vat_included_sql, vat_included_sql_text

MONACO = ZoneInfo(getattr(settings, "DISPLAY_TIME_ZONE", "Europe/Monaco"))
UTC = ZoneInfo("UTC")
CHUNK_SIZE = 5000
# Spreadsheets run a cell starting with these as a formula (CSV injection); a leading ' disarms it.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


COLUMNS = [
    ("number", _("Order number")),
    ("created_utc", _("Created (UTC)")),
    ("created_monaco", _("Created (Monaco time)")),
    ("paid_utc", _("Paid (UTC)")),
    ("paid_monaco", _("Paid (Monaco time)")),
    ("customer_id", _("Customer id")),
    ("customer_name", _("Customer name")),
    ("email", _("Email")),
    ("phone", _("Phone")),
    ("iccid", _("ICCID")),
    ("plan", _("Plan")),
    ("period", _("Period")),
    ("data_bytes", _("Data (bytes)")),
    ("list_price", _("List price")),
    ("discount", _("Discount")),
    ("promo_code", _("Promo code")),
    ("wallet_credit", _("Wallet credit used")),
    ("amount_charged", _("Amount charged")),
    ("gross", _("Total paid (VAT included)")),
    ("vat_rate", _("VAT rate (%)")),
    ("vat", _("VAT amount")),
    ("net", _("Net (excl. VAT)")),
    ("currency", _("Currency")),
    ("payment_method", _("Payment method")),
    ("payment_intent", _("Stripe payment intent")),
    ("status", _("Status")),
    ("status_code", _("Status code")),
    ("refunded", _("Refunded amount")),
    ("refund_dates", _("Refund dates (UTC)")),
    ("invoice", _("Invoice number")),
    ("credit_notes", _("Credit note numbers")),
    ("withdrawn", _("Withdrawn by the customer (UTC)")),
]
MONEY_COLUMNS = {
    "list_price",
    "discount",
    "wallet_credit",
    "amount_charged",
    "gross",
    "vat",
    "net",
    "refunded",
}

_FIELDS = (
    "id",
    "number",
    "created_utc",
    "created_monaco",
    "paid_utc",
    "paid_monaco",
    "customer_id",
    "customer__name",
    "export_email",
    "export_phone",
    "card__iccid",
    "plan_name",
    "plan_period",
    "plan_data_bytes",
    "bonus_bytes",
    "list_price_cents",
    "discount_cents",
    "promotion_code",
    "wallet_applied_cents",
    "amount_charged_cents",
    "vat_rate_bp",
    "currency",
    "payment_method_type",
    "stripe_payment_intent_id",
    "status",
    "refunded_amount_cents",
)


def monaco_day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, the day after end 00:00) in Monaco time, as UTC instants (DST-safe)."""
    lower = datetime.combine(start, time.min, tzinfo=MONACO).astimezone(UTC)
    upper = datetime.combine(end + timedelta(days=1), time.min, tzinfo=MONACO).astimezone(UTC)
    return lower, upper


@dataclass(frozen=True)
class ExportFilter:
    start: date
    end: date
    statuses: tuple[str, ...] = ()

    def as_json(self) -> dict:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "statuses": list(self.statuses)}

    @classmethod
    def from_json(cls, data: dict) -> "ExportFilter":
        return cls(
            date.fromisoformat(data["start"]), date.fromisoformat(data["end"]), tuple(data["statuses"])
        )


def orders_in_range(export_filter: ExportFilter) -> QuerySet[Order]:
    """An order's date is when it was paid, or when it was created if it never was (Monaco days)."""
    lower, upper = monaco_day_bounds(export_filter.start, export_filter.end)
    orders = Order.objects.filter(
        Q(paid_at__gte=lower, paid_at__lt=upper)
        | Q(paid_at__isnull=True, created_at__gte=lower, created_at__lt=upper)
    )
    if export_filter.statuses:
        orders = orders.filter(status__in=export_filter.statuses)
    return orders


def _wall_clock_text(field_name: str, zone: ZoneInfo):
    """'2026-11-25 18:05:00' in `zone`, formatted by the database: a million rows need no Python
    datetime objects (parsing and formatting them would cost more than the whole query)."""
    return Cast(TruncSecond(field_name, tzinfo=zone), CharField())


def _export_queryset(export_filter: ExportFilter):
    return (
        orders_in_range(export_filter)
        .annotate(
            created_utc=_wall_clock_text("created_at", UTC),
            created_monaco=_wall_clock_text("created_at", MONACO),
            paid_utc=_wall_clock_text("paid_at", UTC),
            paid_monaco=_wall_clock_text("paid_at", MONACO),
            # The customer as they were when paying; their current details if not recorded.
            export_email=Coalesce(NullIf("customer_email", Value("")), "customer__email", Value("")),
            export_phone=Coalesce(NullIf("customer_phone", Value("")), "customer__phone", Value("")),
        )
        .order_by("id")
        .values_list(*_FIELDS)
    )


class _Memo(dict):
    """Amounts repeat across orders (prices, VAT): each is formatted once, then looked up."""

    def __init__(self, compute):
        super().__init__()
        self.compute = compute

    def __missing__(self, key):
        value = self.compute(key)
        if len(self) < 100_000:
            self[key] = value
        return value


def _cents_text(cents: int) -> str:
    """12345 -> '123.45'."""
    return f"{cents // 100}.{cents % 100:02d}" if cents >= 0 else f"-{_cents_text(-cents)}"


def _cents_decimal(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


_CENTS_TEXT = _Memo(_cents_text)
_CENTS_DECIMAL = _Memo(_cents_decimal)
_VAT = _Memo(lambda key: vat_included(*key))
_TRIGGERS = frozenset(FORMULA_TRIGGERS)


def _refund_dates(order_ids: list[int]) -> dict[int, str]:
    dates: dict[int, list[str]] = {}
    # A refund counts from the day it succeeded (billing.refunds); pending or failed ones do not.
    refunds = (
        Refund.objects.filter(order_id__in=order_ids, status=Refund.Status.SUCCEEDED)
        .annotate(created_utc=_wall_clock_text("succeeded_at", UTC))
        .order_by("succeeded_at", "id")
        .values_list("order_id", "created_utc")
    )
    for order_id, created_utc in refunds:
        dates.setdefault(order_id, []).append(created_utc)
    return {order_id: "; ".join(stamps) for order_id, stamps in dates.items()}


def _documents(order_ids: list[int]) -> dict[int, tuple[str, str]]:
    """Order id -> (invoice number, credit note numbers joined by "; "), for orders that have any."""
    documents: dict[int, tuple[str, list[str]]] = {}
    rows = (
        Invoice.objects.filter(order_id__in=order_ids)
        .order_by("issued_at", "id")
        .values_list("order_id", "kind", "number")
    )
    for order_id, kind, number in rows:
        _invoice, credit_notes = documents.setdefault(order_id, ("", []))
        if kind == Invoice.Kind.INVOICE:
            documents[order_id] = (number, credit_notes)
        else:
            credit_notes.append(number)
    return {order_id: (invoice, "; ".join(notes)) for order_id, (invoice, notes) in documents.items()}


def _withdrawals(order_ids: list[int]) -> dict[int, str]:
    """Order id -> when the customer withdrew from it (UTC), for orders withdrawn from."""
    rows = (
        Withdrawal.objects.filter(order_id__in=order_ids)
        .annotate(requested_utc=_wall_clock_text("requested_at", UTC))
        .values_list("order_id", "requested_utc")
    )
    return dict(rows)


def export_rows(export_filter: ExportFilter, *, as_decimal: bool = False) -> Iterator[list]:
    """One list of cells per order, in COLUMNS order. Text is neutralised against formula injection.

    In a transaction, so PostgreSQL streams from a plain server-side cursor (outside one, Django
    declares it WITH HOLD and the server materialises the whole result first), planned for the
    whole result rather than for the first rows (the cursor default).
    """
    if connection.vendor != "postgresql":
        # SQLite (the embedded default) takes its write lock at BEGIN: no transaction here.
        yield from _export_rows(export_filter, as_decimal=as_decimal)
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL cursor_tuple_fraction = 1.0")
        yield from _export_rows(export_filter, as_decimal=as_decimal)


def _export_rows(export_filter: ExportFilter, *, as_decimal: bool) -> Iterator[list]:
    # A million rows: plain lookups and inline expressions instead of helper calls in this loop.
    money = (_CENTS_DECIMAL if as_decimal else _CENTS_TEXT).__getitem__
    as_number = int if as_decimal else str  # CSV rows are all text, spreadsheets get numbers
    rate = money  # basis points read as a percentage with two decimals: 2000 -> 20.00
    vat_of = _VAT.__getitem__
    # Only CSV needs the apostrophe: a spreadsheet cell typed as text is never run as a formula
    # (write_xlsx types them so), and "+377 ..." must stay a plain phone number there.
    triggers = frozenset() if as_decimal else _TRIGGERS
    status_words = {code: str(label) for code, label in Order.Status.choices}
    rows = _export_queryset(export_filter).iterator(chunk_size=CHUNK_SIZE)
    while chunk := list(islice(rows, CHUNK_SIZE)):
        refunded_ids = [row[0] for row in chunk if row[-1]]
        refund_dates = _refund_dates(refunded_ids) if refunded_ids else {}
        # One indexed lookup per chunk: invoices exist only for the orders customers asked one for.
        documents = _documents([row[0] for row in chunk])
        no_documents = ("", "")
        withdrawals = _withdrawals([row[0] for row in chunk])
        for (
            order_id,
            number,
            created_utc,
            created_monaco,
            paid_utc,
            paid_monaco,
            customer_id,
            customer_name,
            email,
            phone,
            iccid,
            plan_name,
            period,
            data_bytes,
            bonus_bytes,
            list_price,
            discount,
            promo_code,
            wallet_credit,
            charged,
            rate_bp,
            currency,
            method,
            payment_intent,
            status,
            refunded,
        ) in chunk:
            gross = charged + wallet_credit
            vat = vat_of((gross, rate_bp))
            customer_name = customer_name or ""
            yield [
                number or "",
                created_utc,
                created_monaco,
                paid_utc or "",
                paid_monaco or "",
                as_number(customer_id) if customer_id is not None else "",
                "'" + customer_name if customer_name[:1] in triggers else customer_name,
                "'" + email if email[:1] in triggers else email,
                "'" + phone if phone[:1] in triggers else phone,
                iccid or "",
                "'" + plan_name if plan_name[:1] in triggers else plan_name,
                period,
                as_number(data_bytes + bonus_bytes),
                money(list_price),
                money(discount),
                "'" + promo_code if promo_code[:1] in triggers else promo_code,
                money(wallet_credit),
                money(charged),
                money(gross),
                rate(rate_bp),
                money(vat),
                money(gross - vat),
                currency,
                method,
                payment_intent or "",
                status_words.get(status, status),
                status,
                money(refunded),
                refund_dates.get(order_id, ""),
                *documents.get(order_id, no_documents),
                withdrawals.get(order_id, ""),
            ]


def export_header() -> list[str]:
    return [str(label) for _key, label in COLUMNS]


# Columns whose text comes from people (names, addresses, codes) or from translations (a status in
# words): the only ones that can hold a comma, a quote or a line break, so the only ones that may
# need CSV quoting.
_FREE_TEXT = [
    index
    for index, (key, _label) in enumerate(COLUMNS)
    if key in {"number", "customer_name", "email", "phone", "plan", "promo_code", "payment_method", "status"}
]
_NEEDS_QUOTES = re.compile(r'[",\r\n]')


def _csv_line(row: list[str]) -> str:
    """The csv module's minimal quoting, done only where it can matter: a third of its cost."""
    for index in _FREE_TEXT:
        value = row[index]
        if _NEEDS_QUOTES.search(value):
            row[index] = '"' + value.replace('"', '""') + '"'
    return ",".join(row)


def _csv_header_bytes() -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(export_header())
    return ("\ufeff" + buffer.getvalue()).encode()


def csv_chunks(
    export_filter: ExportFilter, *, progress: Callable[[int], None] | None = None
) -> Iterator[bytes]:
    """UTF-8 with a byte-order mark (so Excel reads Chinese names right), in ~CHUNK_SIZE-row pieces.

    On PostgreSQL the database writes the lines itself (`csv_copy_chunks`): the same bytes as the
    generic path (`csv_rows_chunks`), which the test suite checks."""
    if connection.vendor == "postgresql":
        return csv_copy_chunks(export_filter, progress=progress)
    return csv_rows_chunks(export_filter, progress=progress)


def csv_rows_chunks(
    export_filter: ExportFilter, *, progress: Callable[[int], None] | None = None
) -> Iterator[bytes]:
    """The generic path: rows from `export_rows`, joined into lines in Python."""
    yield _csv_header_bytes()
    done = 0
    rows = export_rows(export_filter)
    while chunk := list(islice(rows, CHUNK_SIZE)):
        yield ("\r\n".join(map(_csv_line, chunk)) + "\r\n").encode()
        done += len(chunk)
        if progress:
            progress(done)


# --- CSV written by PostgreSQL -----------------------------------------------------------------
# The same lines as `_csv_line(export_rows(...))`, each built by the database from the same queryset
# (same joins, same time formatting) and sent with COPY ... TO STDOUT: Python only relays bytes, so a
# million orders cost little more than psql's own COPY.


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_cents_text(column: str) -> str:
    """_cents_text in SQL: 12345 -> '123.45', -5 -> '-0.05'."""
    return (
        f"(CASE WHEN {column} < 0 THEN '-' ELSE '' END || (abs({column}) / 100)::text || '.'"
        f" || lpad(mod(abs({column}), 100)::text, 2, '0'))"
    )


def _sql_neutralised(column: str) -> str:
    """A leading formula trigger disarmed with an apostrophe, as in `_export_rows`."""
    codes = ", ".join(str(ord(trigger)) for trigger in FORMULA_TRIGGERS)
    return f"(CASE WHEN ascii({column}) IN ({codes}) THEN chr(39) || {column} ELSE {column} END)"


def _sql_quoted(column: str) -> str:
    """What _csv_line does to free text: quoted only when it holds a quote, a comma or a line break."""
    return (
        f"(CASE WHEN strpos({column}, chr(34)) > 0 OR strpos({column}, ',') > 0"
        f" OR strpos({column}, chr(10)) > 0 OR strpos({column}, chr(13)) > 0"
        f" THEN chr(34) || replace({column}, chr(34), chr(34) || chr(34)) || chr(34) ELSE {column} END)"
    )


def csv_copy_sql(export_filter: ExportFilter) -> tuple[str, tuple]:
    """One text column per order: its whole CSV line, without the line break."""
    inner, params = _export_queryset(export_filter).query.sql_with_params()
    names = [name.replace("__", "_") for name in _FIELDS]
    gross = "(q.amount_charged_cents + q.wallet_applied_cents)::bigint"
    vat = vat_included_sql_text(gross, "q.vat_rate_bp")
    status_words = " ".join(
        f"WHEN {_sql_text(code)} THEN {_sql_text(str(label))}" for code, label in Order.Status.choices
    )
    refund, invoice, withdrawal = (
        Refund._meta.db_table,
        Invoice._meta.db_table,
        Withdrawal._meta.db_table,
    )
    invoice_kind = _sql_text(Invoice.Kind.INVOICE)
    utc_text = "(date_trunc('second', {} AT TIME ZONE 'UTC'))::varchar"
    columns = {
        "number": _sql_quoted("COALESCE(q.number, '')"),
        "created_utc": "q.created_utc",
        "created_monaco": "q.created_monaco",
        "paid_utc": "COALESCE(q.paid_utc, '')",
        "paid_monaco": "COALESCE(q.paid_monaco, '')",
        "customer_id": "COALESCE(q.customer_id::text, '')",
        "customer_name": _sql_quoted(_sql_neutralised("COALESCE(q.customer_name, '')")),
        "email": _sql_quoted(_sql_neutralised("q.export_email")),
        "phone": _sql_quoted(_sql_neutralised("q.export_phone")),
        "iccid": "COALESCE(q.card_iccid, '')",
        "plan": _sql_quoted(_sql_neutralised("q.plan_name")),
        "period": "q.plan_period",
        "data_bytes": "(q.plan_data_bytes + q.bonus_bytes)::text",
        "list_price": _sql_cents_text("q.list_price_cents"),
        "discount": _sql_cents_text("q.discount_cents"),
        "promo_code": _sql_quoted(_sql_neutralised("q.promotion_code")),
        "wallet_credit": _sql_cents_text("q.wallet_applied_cents"),
        "amount_charged": _sql_cents_text("q.amount_charged_cents"),
        "gross": _sql_cents_text("v.gross"),
        "vat_rate": _sql_cents_text("q.vat_rate_bp"),
        "vat": _sql_cents_text("v.vat"),
        "net": _sql_cents_text("(v.gross - v.vat)"),
        "currency": "q.currency",
        "payment_method": _sql_quoted("q.payment_method_type"),
        "payment_intent": "COALESCE(q.stripe_payment_intent_id, '')",
        "status": _sql_quoted(f"(CASE q.status {status_words} ELSE q.status END)"),
        "status_code": "q.status",
        "refunded": _sql_cents_text("q.refunded_amount_cents"),
        # The generic path asks for refund dates only for orders with a refunded amount.
        "refund_dates": (
            f"COALESCE(CASE WHEN q.refunded_amount_cents <> 0 THEN (SELECT string_agg("  # noqa: S608
            f"{utc_text.format('r.succeeded_at')}, '; ' ORDER BY r.succeeded_at, r.id) FROM {refund} r"
            f" WHERE r.order_id = q.id AND r.status = {_sql_text(Refund.Status.SUCCEEDED)}) END, '')"
        ),
        # _documents: the last invoice issued, then every other document in the order issued.
        "invoice": (
            f"COALESCE((SELECT i.number FROM {invoice} i WHERE i.order_id = q.id AND i.kind = {invoice_kind}"  # noqa: S608
            f" ORDER BY i.issued_at DESC, i.id DESC LIMIT 1), '')"
        ),
        "credit_notes": (
            f"COALESCE((SELECT string_agg(i.number, '; ' ORDER BY i.issued_at, i.id) FROM {invoice} i"  # noqa: S608
            f" WHERE i.order_id = q.id AND i.kind <> {invoice_kind}), '')"
        ),
        "withdrawn": (
            f"COALESCE((SELECT {utc_text.format('w.requested_at')} FROM {withdrawal} w"  # noqa: S608
            f" WHERE w.order_id = q.id LIMIT 1), '')"
        ),
    }
    assert list(columns) == [key for key, _label in COLUMNS], "one SQL expression per export column"
    line = " || ',' || ".join(columns.values())
    sql = (
        f"SELECT {line} FROM ({inner}) AS q({', '.join(names)})"  # noqa: S608
        f" CROSS JOIN LATERAL (SELECT {gross} AS gross, {vat} AS vat) AS v ORDER BY q.id"
    )
    return sql, tuple(params)


_COPY_TEXT_ESCAPE = re.compile(rb"\\(.)", re.DOTALL)
_COPY_TEXT_UNESCAPED = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f", b"v": b"\v"}


def _copy_text_unescape(match: re.Match) -> bytes:
    return _COPY_TEXT_UNESCAPED.get(match.group(1), match.group(1))


def _copy_lines(rows: list[bytes]) -> bytes:
    data = b"".join(rows).replace(b"\n", b"\r\n")
    if b"\\" in data:
        data = _COPY_TEXT_ESCAPE.sub(_copy_text_unescape, data)
    return data


def csv_copy_statement(export_filter: ExportFilter) -> str:
    """The COPY statement with its parameters bound (for the benchmark's psql baseline, too)."""
    from psycopg import ClientCursor

    sql, params = csv_copy_sql(export_filter)
    connection.ensure_connection()
    # A client-side cursor binds the values into the text (COPY takes no server-side parameters),
    # whichever cursor class the connection is configured with.
    with ClientCursor(connection.connection) as cursor:
        return cursor.mogrify(f"COPY ({sql}) TO STDOUT", params)


def csv_copy_chunks(
    export_filter: ExportFilter, *, progress: Callable[[int], None] | None = None
) -> Iterator[bytes]:
    """PostgreSQL: COPY (the lines) TO STDOUT in text format, relayed in ~CHUNK_SIZE-row pieces.

    Text format, one column: every real line feed ends a row (a line break inside a value arrives
    escaped as backslash-n), so turning them into CRLF and undoing COPY's escapes gives the lines."""
    yield _csv_header_bytes()
    statement = csv_copy_statement(export_filter)
    done = 0
    with transaction.atomic(), connection.cursor() as cursor:
        pending: list[bytes] = []
        with cursor.cursor.copy(statement) as copy:
            for data in copy:
                pending.append(bytes(data))
                if len(pending) == CHUNK_SIZE:
                    yield _copy_lines(pending)
                    done += len(pending)
                    pending = []
                    if progress:
                        progress(done)
        if pending:
            yield _copy_lines(pending)
            done += len(pending)
            if progress:
                progress(done)


_XLSX_DATETIMES = [
    index
    for index, (key, _label) in enumerate(COLUMNS)
    if key in {"created_utc", "created_monaco", "paid_utc", "paid_monaco", "withdrawn"}
]
_XLSX_MONEY = [index for index, (key, _label) in enumerate(COLUMNS) if key in MONEY_COLUMNS]
_XLSX_RATE = [index for index, (key, _label) in enumerate(COLUMNS) if key == "vat_rate"]
_XLSX_COLUMN_WIDTHS = {"number": 16, "email": 28, "phone": 16, "iccid": 22, "status": 18}


def _xlsx_typed_row(sheet, row: list, cell_class) -> list:
    """Real Excel dates and numbers with formats; text that starts like a formula typed as text."""
    for index in _XLSX_DATETIMES:
        text = row[index]
        if text:
            cell = cell_class(sheet, value=datetime.fromisoformat(text))
            cell.number_format = "yyyy-mm-dd hh:mm:ss"
            row[index] = cell
    for index in _XLSX_MONEY:
        cell = cell_class(sheet, value=row[index])
        cell.number_format = "#,##0.00"
        row[index] = cell
    for index in _XLSX_RATE:
        cell = cell_class(sheet, value=row[index])
        cell.number_format = "0.00"
        row[index] = cell
    for index in _FREE_TEXT:
        value = row[index]
        if value[:1] == "=":
            cell = cell_class(sheet, value=value)
            cell.data_type = "s"
            row[index] = cell
    return row


def write_xlsx(export_filter: ExportFilter, target, *, progress: Callable[[int], None] | None = None) -> int:
    """XLSX through openpyxl's write-only mode (rows go straight to disk). Returns the row count.

    Times are Excel dates (wall-clock time of the column's zone, as Excel has no zones), amounts and
    the VAT rate numbers with two decimals, statuses in words with their code beside them."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(str(_("Orders")))
    for index, (key, _label) in enumerate(COLUMNS, start=1):
        wide = 20 if index - 1 in _XLSX_DATETIMES else _XLSX_COLUMN_WIDTHS.get(key)
        if wide:
            sheet.column_dimensions[get_column_letter(index)].width = wide
    sheet.append(export_header())
    done = 0
    for row in export_rows(export_filter, as_decimal=True):
        sheet.append(_xlsx_typed_row(sheet, row, WriteOnlyCell))
        done += 1
        if progress and done % CHUNK_SIZE == 0:
            progress(done)
    workbook.save(target)
    if progress:
        progress(done)
    return done


def write_export(export_filter: ExportFilter, file_format: str, target, *, progress=None) -> None:
    """Write a whole export to a binary file object or path."""
    if file_format == "xlsx":
        write_xlsx(export_filter, target, progress=progress)
        return
    if isinstance(target, (str, bytes)) or hasattr(target, "__fspath__"):
        with open(target, "wb") as handle:
            for chunk in csv_chunks(export_filter, progress=progress):
                handle.write(chunk)
        return
    for chunk in csv_chunks(export_filter, progress=progress):
        target.write(chunk)


# --- Revenue ----------------------------------------------------------------------------------


@dataclass
class RevenueLine:
    day: date | None
    plan: str
    method: str
    currency: str
    count: int = 0
    gross: int = 0
    vat: int = 0
    refunds: int = 0
    label: str = ""

    @property
    def net(self) -> int:
        return self.gross - self.vat


@dataclass
class RevenueReport:
    lines: list[RevenueLine] = field(default_factory=list)

    def total(self, key: Callable[[RevenueLine], object] | None = None) -> list[RevenueLine]:
        """Lines summed by `key` (e.g. per day), or a single grand-total line per currency."""
        groups: dict[object, RevenueLine] = {}
        for line in self.lines:
            group = key(line) if key else None
            sums = groups.setdefault(
                (group, line.currency),
                RevenueLine(
                    day=group if isinstance(group, date) else None,
                    plan="",
                    method="",
                    currency=line.currency,
                    label="" if group is None else str(group),
                ),
            )
            sums.count += line.count
            sums.gross += line.gross
            sums.vat += line.vat
            sums.refunds += line.refunds
        return list(groups.values())


def revenue_report(*, start: date, end: date) -> RevenueReport:
    """Per Monaco day of payment, plan and payment method: count, gross, VAT, net and refunds.

    On PostgreSQL from the days the database keeps summed (`RevenueDay`, a trigger on the orders):
    a year is a few thousand rows, not a million orders. Elsewhere summed from the orders."""
    if connection.vendor == "postgresql" and MONACO.key == "Europe/Monaco":
        return revenue_report_from_days(start=start, end=end)
    return revenue_report_from_orders(start=start, end=end)


def revenue_report_from_days(*, start: date, end: date) -> RevenueReport:
    rows = (
        RevenueDay.objects.filter(day__gte=start, day__lte=end)
        .exclude(count=0)
        .order_by("day", "plan_name", "payment_method_type", "currency")
        .values_list(
            "day",
            "plan_name",
            "payment_method_type",
            "currency",
            "count",
            "gross_cents",
            "vat_cents",
            "refunded_cents",
        )
    )
    return RevenueReport(
        lines=[
            RevenueLine(
                day=day,
                plan=plan,
                method=method,
                currency=currency,
                count=count,
                gross=gross,
                vat=vat,
                refunds=refunds,
            )
            for day, plan, method, currency, count, gross, vat, refunds in rows
        ]
    )


def revenue_report_from_orders(*, start: date, end: date) -> RevenueReport:
    """The same report summed from the orders themselves (SQLite; and the check of the days)."""
    gross = Cast(F("amount_charged_cents"), BigIntegerField()) + Cast(
        F("wallet_applied_cents"), BigIntegerField()
    )
    rate = Cast(F("vat_rate_bp"), BigIntegerField())
    vat = vat_included_sql(gross, rate)
    rows = (
        orders_in_range(ExportFilter(start, end, PAID_STATUSES))
        .annotate(day=TruncDate("paid_at", tzinfo=MONACO))
        .values("day", "plan_name", "payment_method_type", "currency")
        .annotate(
            count=Count("id"),
            gross=Sum(gross),
            vat=Sum(vat, output_field=BigIntegerField()),
            # A values() row's key, not the Order.refunds relation the stubs see.
            refunds=Sum("refunded_amount_cents"),  # type: ignore[no-redef]
        )
        .order_by("day", "plan_name", "payment_method_type", "currency")
    )
    return RevenueReport(
        lines=[
            RevenueLine(
                day=row["day"],
                plan=row["plan_name"],
                method=row["payment_method_type"],
                currency=row["currency"],
                count=row["count"],
                gross=int(row["gross"] or 0),
                vat=int(row["vat"] or 0),
                refunds=int(row["refunds"] or 0),
            )
            for row in rows
        ]
    )


def export_totals(rows: Iterable[list]) -> dict[str, int]:
    """Sums of an export's money columns in cents (used to reconcile with the revenue report)."""
    index = {key: position for position, (key, _label) in enumerate(COLUMNS)}
    totals = {"count": 0, "gross": 0, "vat": 0, "net": 0, "refunded": 0}
    for row in rows:
        totals["count"] += 1
        for key in ("gross", "vat", "net", "refunded"):
            cell = row[index[key]]
            totals[key] += int(Decimal(str(cell)) * 100)
    return totals
