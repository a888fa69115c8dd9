import csv
import io
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from billing.exports import COLUMNS, ExportFilter, csv_chunks, export_rows, export_totals
from tests.support.factories import OrderFactory, PlanFactory, RefundFactory, UserFactory

pytestmark = pytest.mark.django_db

COLUMN = {key: index for index, (key, _label) in enumerate(COLUMNS)}
NOVEMBER = ExportFilter(date(2026, 11, 1), date(2026, 11, 30))


def parse_csv(content: bytes) -> list[dict]:
    assert content.startswith(b"\xef\xbb\xbf"), "Excel needs the UTF-8 byte-order mark"
    reader = csv.reader(io.StringIO(content.decode("utf-8-sig")))
    header = next(reader)
    return [dict(zip(header, row, strict=True)) for row in reader]


def cells(row: list) -> dict:
    return {key: row[index] for key, index in COLUMN.items()}


@pytest.fixture
def mixed_orders(db):
    """Four orders in November covering discount, wallet credit, partial refund and a 10 % VAT rate."""
    week = PlanFactory()  # 19.90 EUR, 20 % VAT
    reduced = PlanFactory(code="month-it", name="Month Liguria", price_cents=3000, vat_rate_bp=1000)
    plain = OrderFactory(
        plan=week, number="MC-2026-000001", created_at=datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    )
    discounted = OrderFactory(
        plan=week,
        number="MC-2026-000002",
        discount_cents=499,
        promotion_code="WELCOME25",
        created_at=datetime(2026, 11, 3, 9, 0, tzinfo=UTC),
    )
    wallet = OrderFactory(
        plan=week,
        number="MC-2026-000003",
        wallet_applied_cents=1000,
        payment_method_type="card",
        created_at=datetime(2026, 11, 4, 9, 0, tzinfo=UTC),
    )
    refunded = OrderFactory(
        plan=reduced,
        number="MC-2026-000004",
        status="partially_refunded",
        refunded_amount_cents=1250,
        payment_method_type="alipay",
        created_at=datetime(2026, 11, 5, 9, 0, tzinfo=UTC),
    )
    RefundFactory(order=refunded, amount_cents=1000, created_at=datetime(2026, 11, 6, 10, 0, tzinfo=UTC))
    RefundFactory(
        order=refunded,
        amount_cents=250,
        destination="wallet",
        created_at=datetime(2026, 11, 7, 10, 30, tzinfo=UTC),
    )
    return {"plain": plain, "discounted": discounted, "wallet": wallet, "refunded": refunded}


def test_each_order_is_one_row_with_amounts_that_add_up(mixed_orders):
    rows = {row[0]: cells(row) for row in export_rows(NOVEMBER)}
    assert list(rows) == ["MC-2026-000001", "MC-2026-000002", "MC-2026-000003", "MC-2026-000004"]

    plain = rows["MC-2026-000001"]
    assert (plain["list_price"], plain["discount"], plain["wallet_credit"], plain["amount_charged"]) == (
        "19.90",
        "0.00",
        "0.00",
        "19.90",
    )
    # 19.90 with 20 % VAT included: VAT 3.32 (19.90 * 20 / 120 = 3.3167), net 16.58
    assert (plain["gross"], plain["vat_rate"], plain["vat"], plain["net"]) == (
        "19.90",
        "20.00",
        "3.32",
        "16.58",
    )

    discounted = rows["MC-2026-000002"]
    assert (discounted["discount"], discounted["promo_code"], discounted["amount_charged"]) == (
        "4.99",
        "WELCOME25",
        "14.91",
    )
    assert (discounted["gross"], discounted["vat"], discounted["net"]) == ("14.91", "2.49", "12.42")

    wallet = rows["MC-2026-000003"]
    assert (wallet["wallet_credit"], wallet["amount_charged"], wallet["gross"]) == ("10.00", "9.90", "19.90")
    assert wallet["vat"] == "3.32"

    refunded = rows["MC-2026-000004"]
    assert (refunded["vat_rate"], refunded["gross"], refunded["vat"], refunded["net"]) == (
        "10.00",
        "30.00",
        "2.73",
        "27.27",
    )
    assert (refunded["status"], refunded["status_code"], refunded["refunded"]) == (
        "Partly refunded",
        "partially_refunded",
        "12.50",
    )
    assert refunded["refund_dates"] == "2026-11-06 10:00:00; 2026-11-07 10:30:00"
    assert refunded["payment_method"] == "alipay"


def test_times_are_given_in_utc_and_in_monaco_time(db):
    summer = OrderFactory(created_at=datetime(2026, 7, 1, 21, 30, tzinfo=UTC))  # CEST, UTC+2
    winter = OrderFactory(
        created_at=datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    )  # CET, UTC+1: Dec 1 in Monaco
    rows = {row[0]: cells(row) for row in export_rows(ExportFilter(date(2026, 7, 1), date(2026, 12, 1)))}
    assert rows[summer.number]["created_utc"] == "2026-07-01 21:30:00"
    assert rows[summer.number]["created_monaco"] == "2026-07-01 23:30:00"
    assert rows[summer.number]["paid_monaco"] == "2026-07-01 23:31:00"
    assert rows[winter.number]["created_monaco"] == "2026-12-01 00:30:00"


def test_the_date_range_is_in_monaco_days(db):
    late_on_the_30th_utc = OrderFactory(
        created_at=datetime(2026, 11, 30, 23, 5, tzinfo=UTC)
    )  # paid Dec 1 in Monaco
    first_minute = OrderFactory(
        created_at=datetime(2026, 10, 31, 23, 0, tzinfo=UTC)
    )  # Nov 1 00:01 Monaco once paid
    numbers = [row[0] for row in export_rows(NOVEMBER)]
    assert first_minute.number in numbers
    assert late_on_the_30th_utc.number not in numbers


def test_status_filter(mixed_orders):
    only = ExportFilter(NOVEMBER.start, NOVEMBER.end, ("partially_refunded",))
    assert [row[0] for row in export_rows(only)] == ["MC-2026-000004"]


def test_cells_that_would_run_as_formulas_are_neutralised(db):
    customer = UserFactory(name='=HYPERLINK("http://evil")', email="@evil@example.com")
    OrderFactory(customer=customer, customer_email="", promotion_code="-2+3", customer_phone="+37761234567")
    rows = parse_csv(b"".join(csv_chunks(NOVEMBER)))
    row = rows[0]
    assert row["Customer name"] == '\'=HYPERLINK("http://evil")'
    assert row["Email"] == "'@evil@example.com"
    assert row["Promo code"] == "'-2+3"
    assert row["Phone"] == "'+37761234567"
    assert row["Total paid (VAT included)"] == "19.90"  # numbers stay numbers


def test_a_chinese_name_survives_the_csv_round_trip(db):
    OrderFactory(
        customer=UserFactory(name="王小明", email="wang@example.cn"),
        plan=PlanFactory(code="zh", name="周计划 5 GB"),
    )
    content = b"".join(csv_chunks(NOVEMBER))
    rows = parse_csv(content)
    assert rows[0]["Customer name"] == "王小明"
    assert rows[0]["Plan"] == "周计划 5 GB"


def test_the_export_page_streams_csv_to_finance(finance_client, mixed_orders):
    response = finance_client.post(
        reverse("support:finance_export"), {"start": "2026-11-01", "end": "2026-11-30", "file_format": "csv"}
    )
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="orders-2026-11-01-2026-11-30.csv"' in response["Content-Disposition"]
    rows = parse_csv(b"".join(response.streaming_content))
    assert [row["Order number"] for row in rows] == [f"MC-2026-00000{n}" for n in range(1, 5)]


def test_the_export_page_gives_xlsx_with_numbers_as_numbers(finance_client, mixed_orders):
    response = finance_client.post(
        reverse("support:finance_export"),
        {
            "start": "2026-11-01",
            "end": "2026-11-30",
            "file_format": "xlsx",
            "statuses": ["partially_refunded"],
        },
    )
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True).active
    header, row = list(sheet.iter_rows(values_only=True))
    values = dict(zip(header, row, strict=True))
    assert values["Order number"] == "MC-2026-000004"
    assert float(values["Refunded amount"]) == 12.5
    assert float(values["VAT amount"]) == 2.73


def test_export_orders_command_writes_the_same_rows(tmp_path, mixed_orders):
    target = tmp_path / "november.csv"
    call_command(
        "export_orders",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-30",
        "--format",
        "csv",
        "--output",
        str(target),
        "--no-progress",
    )
    rows = parse_csv(target.read_bytes())
    assert len(rows) == 4
    assert rows[3]["Refund dates (UTC)"] == "2026-11-06 10:00:00; 2026-11-07 10:30:00"
    xlsx = tmp_path / "november.xlsx"
    call_command(
        "export_orders",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-30",
        "--format",
        "xlsx",
        "--output",
        str(xlsx),
        "--no-progress",
    )
    assert len(list(load_workbook(xlsx, read_only=True).active.iter_rows())) == 5


def test_export_totals_sum_the_money_columns(mixed_orders):
    totals = export_totals(export_rows(NOVEMBER))
    assert totals == {
        "count": 4,
        "gross": 1990 + 1491 + 1990 + 3000,
        "vat": 332 + 249 + 332 + 273,
        "net": 8471 - 1186,
        "refunded": 1250,
    }


def test_an_export_too_big_for_one_xlsx_sheet_asks_for_csv(finance_client, mixed_orders, monkeypatch):
    from support import finance_views

    monkeypatch.setattr(finance_views, "XLSX_MAX_ROWS", 3)
    response = finance_client.post(
        reverse("support:finance_export"), {"start": "2026-11-01", "end": "2026-11-30", "file_format": "xlsx"}
    )
    assert response.status_code == 200
    assert "choose CSV" in response.content.decode()


def test_the_csv_is_exactly_what_the_csv_module_writes_even_for_awkward_text(db):
    awkward = ["Rossi, Carla", 'Carla "CJ" Rossi', "Line one\nline two", "Tab\there", "Ünïcödé 王", "a\r\nb"]
    for number, name in enumerate(awkward):
        OrderFactory(
            customer=UserFactory(name=name),
            promotion_code=f"P,{number}",
            plan=PlanFactory(code=f"p{number}", name=f'Plan "{number}", week'),
        )
    expected = io.StringIO()
    writer = csv.writer(expected)
    writer.writerow([label for _key, label in COLUMNS])
    writer.writerows(export_rows(NOVEMBER))
    content = b"".join(csv_chunks(NOVEMBER))
    assert content.decode("utf-8-sig") == expected.getvalue()
    names = [row["Customer name"] for row in parse_csv(content)]
    assert names == [
        "Rossi, Carla",
        'Carla "CJ" Rossi',
        "Line one\nline two",
        "Tab\there",
        "Ünïcödé 王",
        "a\r\nb",
    ]


def test_the_xlsx_has_real_dates_formatted_numbers_plain_phones_and_statuses_in_words(finance_client, db):
    customer = UserFactory(name='=HYPERLINK("http://evil")', email="lea@example.com")
    OrderFactory(
        customer=customer,
        customer_phone="+37761234567",
        status="partially_refunded",
        refunded_amount_cents=1250,
        created_at=datetime(2026, 11, 5, 9, 0, tzinfo=UTC),
    )
    response = finance_client.post(
        reverse("support:finance_export"), {"start": "2026-11-01", "end": "2026-11-30", "file_format": "xlsx"}
    )

    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    header = [cell.value for cell in sheet[1]]
    row = dict(zip(header, sheet[2], strict=True))
    assert row["Created (UTC)"].value == datetime(2026, 11, 5, 9, 0)
    assert row["Created (UTC)"].is_date
    assert row["Paid (Monaco time)"].value == datetime(2026, 11, 5, 10, 1)
    assert row["VAT rate (%)"].value == 20 and row["VAT rate (%)"].number_format == "0.00"
    assert row["Refunded amount"].value == 12.5 and row["Refunded amount"].number_format == "#,##0.00"
    assert row["VAT amount"].data_type == "n"
    assert row["Phone"].value == "+37761234567"  # no apostrophe: a text cell is never a formula
    assert row["Customer name"].value == '=HYPERLINK("http://evil")'
    assert row["Customer name"].data_type == "s"
    assert (row["Status"].value, row["Status code"].value) == ("Partly refunded", "partially_refunded")


def test_the_export_page_opens_on_the_revenue_pages_range(finance_client):
    from support.finance_views import default_range

    with time_machine.travel(datetime(2026, 11, 25, 12, 0, tzinfo=UTC), tick=False):
        export_form = finance_client.get(reverse("support:finance_export")).context["form"]
        revenue_form = finance_client.get(reverse("support:finance_revenue")).context["form"]
        start, end = default_range()

    assert (start, end) == (date(2026, 10, 27), date(2026, 11, 25))
    assert (export_form.initial["start"], export_form.initial["end"]) == (start, end)
    assert (revenue_form.data["start"], revenue_form.data["end"]) == (start, end)
