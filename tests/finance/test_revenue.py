from datetime import UTC, date, datetime

import pytest
from django.urls import reverse

from billing.exports import ExportFilter, export_rows, export_totals, revenue_report
from billing.selectors import PAID_STATUSES
from tests.finance.test_export import mixed_orders  # noqa: F401 (fixture)
from tests.support.factories import OrderFactory, PlanFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def more_orders(mixed_orders):  # noqa: F811
    # Not revenue: never paid, and outside the range.
    OrderFactory(status="pending", paid_at=None, created_at=datetime(2026, 11, 10, 9, 0, tzinfo=UTC))
    OrderFactory(status="failed", paid_at=None, created_at=datetime(2026, 11, 11, 9, 0, tzinfo=UTC))
    OrderFactory(created_at=datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    # Paid 23:30 UTC on Nov 8 = Nov 9 in Monaco, with an odd VAT rate and a discount.
    odd = PlanFactory(code="odd", name="Odd", price_cents=999, vat_rate_bp=550)
    OrderFactory(plan=odd, discount_cents=333, created_at=datetime(2026, 11, 8, 23, 29, tzinfo=UTC))
    return mixed_orders


def test_revenue_totals_equal_the_export_of_the_same_range(more_orders):
    report = revenue_report(start=date(2026, 11, 1), end=date(2026, 11, 30))
    (total,) = report.total()
    exported = export_totals(export_rows(ExportFilter(date(2026, 11, 1), date(2026, 11, 30), PAID_STATUSES)))
    assert (total.count, total.gross, total.vat, total.net, total.refunds) == (
        exported["count"],
        exported["gross"],
        exported["vat"],
        exported["net"],
        exported["refunded"],
    )
    assert total.count == 5
    assert total.refunds == 1250


def test_revenue_is_split_by_monaco_day_plan_and_method(more_orders):
    report = revenue_report(start=date(2026, 11, 1), end=date(2026, 11, 30))
    days = {line.day: line for line in report.total(lambda line: line.day)}
    assert date(2026, 11, 9) in days and date(2026, 11, 8) not in days
    assert days[date(2026, 11, 9)].gross == 666
    assert days[date(2026, 11, 9)].vat == 35  # 666 * 5.5 / 105.5 = 34.7
    methods = {line.label: line.gross for line in report.total(lambda line: line.method)}
    assert methods == {"card": 1990 + 1491 + 1990 + 666, "alipay": 3000}


def test_the_revenue_page_shows_the_same_totals_and_a_chart(finance_client, more_orders):
    response = finance_client.get(
        reverse("support:finance_revenue"), {"start": "2026-11-01", "end": "2026-11-30"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    exported = export_totals(export_rows(ExportFilter(date(2026, 11, 1), date(2026, 11, 30), PAID_STATUSES)))
    for key in ("gross", "vat", "net"):
        assert f'data-cents="{exported[key]}"' in page
    assert f'data-cents="{exported["refunded"]}"' in page
    assert "<svg" in page and page.count("<rect") >= 5
    assert "Alipay" in page or "alipay" in page


def test_the_lines_per_day_plan_and_method_come_a_page_at_a_time(finance_client, more_orders, monkeypatch):
    from support import finance_views

    monkeypatch.setattr(finance_views, "REVENUE_LINES_PER_PAGE", 2)
    url = reverse("support:finance_revenue")
    query = {"start": "2026-11-01", "end": "2026-11-30"}
    lines = revenue_report(start=date(2026, 11, 1), end=date(2026, 11, 30)).lines
    assert len(lines) == 5

    def page(number):
        content = finance_client.get(url, {**query, "page": number}).content.decode()
        table = content.split('id="revenue-lines"')[1].split("</table>")[0]
        return content, table.count("<tr>") - 1  # minus the header row

    first, rows = page(1)
    assert rows == 2 and "Lines 1\u20132 of 5" in first
    assert "page=2" in first and "Previous lines" not in first
    last, rows = page(3)
    assert (
        rows == 1 and "Lines 5\u20135 of 5" in last and "Previous lines" in last and "Next lines" not in last
    )
    # The totals and the per-day table still cover the whole range on every page.
    (total,) = revenue_report(start=date(2026, 11, 1), end=date(2026, 11, 30)).total()
    assert f'data-cents="{total.gross}"' in last
    assert page("nonsense")[1] == 2
