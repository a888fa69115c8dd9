"""The invoice register: one row per invoice and credit note, numbers contiguous, totals per VAT rate,
reconciling with the revenue page; the order export names each order's invoice and credit notes."""

import csv
import io
from datetime import UTC, date, datetime

import pytest
from django.urls import reverse

from billing.exports import ExportFilter, export_header, export_rows, revenue_report
from billing.invoice_register import register_series, register_totals
from billing.invoicing import invoice_issue
from billing.models import Invoice
from billing.selectors import PAID_STATUSES
from tests.billing.invoice_helpers import chinese_buyer
from tests.finance.test_export import mixed_orders  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))
ISSUED = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@pytest.fixture
def invoiced(mixed_orders, settings):  # noqa: F811
    settings.INVOICE_REQUEST_DAYS = 36500  # the orders are dated; the window is not what is tested
    for order in mixed_orders.values():
        invoice_issue(order=order, buyer=chinese_buyer(), language="en", now=ISSUED)
    return mixed_orders


def test_the_register_reconciles_with_the_revenue_report(invoiced):
    (revenue,) = revenue_report(start=NOVEMBER[0], end=NOVEMBER[1]).total()
    totals = register_totals(start=NOVEMBER[0], end=NOVEMBER[1])
    invoices = [total for total in totals if total.kind == Invoice.Kind.INVOICE]
    credit_notes = [total for total in totals if total.kind == Invoice.Kind.CREDIT_NOTE]

    assert sum(total.count for total in invoices) == revenue.count == 4
    assert sum(total.gross for total in invoices) == revenue.gross
    assert sum(total.vat for total in invoices) == revenue.vat
    assert sum(total.net for total in invoices) == revenue.net
    assert -sum(total.gross for total in credit_notes) == revenue.refunds == 1250
    assert {(total.kind, total.vat_rate_bp) for total in totals} == {
        ("invoice", 2000),
        ("invoice", 1000),
        ("credit_note", 1000),
    }


def test_the_register_says_its_numbers_run_without_a_gap(invoiced):
    runs = {run.kind: run for run in register_series(start=NOVEMBER[0], end=NOVEMBER[1])}

    assert (runs["invoice"].first, runs["invoice"].last, runs["invoice"].count) == (
        "F-2026-000001",
        "F-2026-000004",
        4,
    )
    assert (runs["credit_note"].first, runs["credit_note"].last) == ("AV-2026-000001", "AV-2026-000002")
    assert all(run.contiguous for run in runs.values())


def test_finance_downloads_the_register_as_csv_with_totals(finance_client, invoiced):
    response = finance_client.get(
        reverse("support:finance_invoice_register"),
        {"start": "2026-11-01", "end": "2026-11-30", "format": "csv"},
    )

    assert response.status_code == 200
    assert 'filename="invoice-register-2026-11-01-2026-11-30.csv"' in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    documents = rows[1 : rows.index([])]
    assert [row[0] for row in documents] == [
        "F-2026-000001", "F-2026-000002", "F-2026-000003", "F-2026-000004", "AV-2026-000001", "AV-2026-000002",
    ]  # fmt: skip
    assert {row[7] for row in documents} == {"上海蓝海旅行科技有限公司"}
    assert documents[-1][6] == "F-2026-000004"  # a credit note names the invoice it corrects
    totals = rows[rows.index([]) + 1 :]
    assert ["", "credit_note", "10.00", "2", "-11.36", "-1.14", "-12.50", "EUR"] in totals


def test_finance_downloads_the_register_as_xlsx(finance_client, invoiced):
    from openpyxl import load_workbook

    response = finance_client.get(
        reverse("support:finance_invoice_register"),
        {"start": "2026-11-01", "end": "2026-11-30", "format": "xlsx"},
    )

    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["Invoice register", "Totals"]
    assert workbook["Invoice register"].max_row == 7


def test_support_cannot_download_the_register(agent_client, invoiced):
    response = agent_client.get(
        reverse("support:finance_invoice_register"), {"start": "2026-11-01", "end": "2026-11-30"}
    )

    assert response.status_code in (302, 403)


def test_the_revenue_page_shows_the_register_totals_beside_the_revenue(finance_client, invoiced):
    page = finance_client.get(
        reverse("support:finance_revenue"), {"start": "2026-11-01", "end": "2026-11-30"}
    )

    content = page.content.decode()
    assert "F-2026-000001 to F-2026-000004: 4 numbers, none missing." in content
    assert 'id="invoiced-orders" data-count="4"' in content


def test_the_order_export_names_invoice_and_credit_notes(invoiced):
    header = export_header()
    rows = {
        row[0]: dict(zip(header, row, strict=True))
        for row in export_rows(ExportFilter(*NOVEMBER, PAID_STATUSES))
    }

    assert rows["MC-2026-000001"]["Invoice number"] == "F-2026-000001"
    assert rows["MC-2026-000001"]["Credit note numbers"] == ""
    assert rows["MC-2026-000004"]["Credit note numbers"] == "AV-2026-000001; AV-2026-000002"
