import itertools
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


def chart_geometry(page: str) -> dict:
    """The chart's SVG as numbers: the axis, each day's bar and the label drawn under it (if any)."""
    import xml.etree.ElementTree as ET

    chart = page[page.index('<figure class="revenue-chart">') :]
    svg = ET.fromstring(chart[chart.index("<svg") : chart.index("</svg>") + len("</svg>")])  # noqa: S314 - our page

    def find(element, tag):
        return element.findall(tag)

    [axis] = find(svg, "line")
    days = []
    for group in find(svg, "g"):
        bar = find(group, "rect")[0]
        labels = find(group, "text")
        days.append(
            {
                "left": float(bar.get("x")),
                "right": float(bar.get("x")) + float(bar.get("width")),
                "label_x": float(labels[0].get("x")) if labels else None,
                "label": labels[0].text if labels else None,
            }
        )
    return {
        "width": float(svg.get("viewBox").split()[2]),
        "axis": (float(axis.get("x1")), float(axis.get("x2"))),
        "days": days,
    }


LABEL_FONT_SIZE = 10


def label_half_width(text: str) -> float:
    return len(text) * LABEL_FONT_SIZE * 0.6 / 2  # a generous average glyph width


def assert_every_bar_is_on_the_axis_and_the_last_is_labelled(chart: dict) -> None:
    start, end = chart["axis"]
    assert all(start <= day["left"] < day["right"] <= end for day in chart["days"])
    last = chart["days"][-1]
    assert last["label"] is not None  # the last day's bar never stands past the last date
    assert last["left"] <= last["label_x"] <= last["right"]
    labelled = [day for day in chart["days"] if day["label"]]
    for day in labelled:
        assert day["left"] <= day["label_x"] <= day["right"]  # under its own bar
        assert day["label_x"] - label_half_width(day["label"]) >= 0
        assert day["label_x"] + label_half_width(day["label"]) <= chart["width"]  # not clipped
    for before, after in itertools.pairwise(labelled):
        gap = after["label_x"] - before["label_x"]
        assert gap >= label_half_width(before["label"]) + label_half_width(after["label"])  # no overlap


def test_the_revenue_chart_labels_the_last_day_under_its_bar_within_the_axis(finance_client, more_orders):
    response = finance_client.get(
        reverse("support:finance_revenue"), {"start": "2026-11-01", "end": "2026-11-30"}
    )

    chart = chart_geometry(response.content.decode())
    assert len(chart["days"]) == 30
    assert_every_bar_is_on_the_axis_and_the_last_is_labelled(chart)
    assert chart["days"][-1]["label"] == "30/11"


@pytest.mark.parametrize("day_count", [1, 2, 7, 16, 17, 29, 31, 90, 366])
def test_the_chart_geometry_holds_for_any_range(day_count):
    from datetime import timedelta
    from types import SimpleNamespace

    from django.template.loader import render_to_string

    from support.finance_views import revenue_chart

    first = date(2026, 1, 1)
    days = [
        SimpleNamespace(day=first + timedelta(days=n), gross=100 * (n % 5), refunds=0, currency="EUR")
        for n in range(day_count)
    ]
    chart = revenue_chart(days)
    svg = render_to_string("finance/_revenue_chart.html", {"chart": chart})
    assert "<svg" in svg
    assert_every_bar_is_on_the_axis_and_the_last_is_labelled(chart_geometry(svg))
