"""On PostgreSQL the revenue report reads days the database keeps summed: always equal to the orders."""

from datetime import UTC, date, datetime

import pytest
from django.db import connection

from billing.exports import revenue_report, revenue_report_from_days, revenue_report_from_orders
from billing.models import Order, RevenueDay
from billing.selectors import PAID_STATUSES
from tests.finance.test_export import mixed_orders  # noqa: F401 (fixture)
from tests.support.factories import OrderFactory, PlanFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's"),
]

NOVEMBER = {"start": date(2026, 11, 1), "end": date(2026, 11, 30)}


def lines(report) -> list[tuple]:
    return [
        (line.day, line.plan, line.method, line.currency, line.count, line.gross, line.vat, line.refunds)
        for line in report.lines
    ]


def test_the_kept_days_equal_the_sum_of_the_orders(mixed_orders):  # noqa: F811
    odd = PlanFactory(code="odd", name="Odd", price_cents=999, vat_rate_bp=550)
    # 23:30 UTC on the 8th is the 9th in Monaco.
    OrderFactory(plan=odd, discount_cents=333, created_at=datetime(2026, 11, 8, 23, 29, tzinfo=UTC))
    OrderFactory(status="pending", paid_at=None)
    assert lines(revenue_report_from_days(**NOVEMBER)) == lines(revenue_report_from_orders(**NOVEMBER))
    days = {line.day for line in revenue_report(**NOVEMBER).lines}
    assert date(2026, 11, 9) in days and date(2026, 11, 8) not in days


def test_every_change_to_an_order_moves_its_figures(mixed_orders):  # noqa: F811
    plain, refunded = mixed_orders["plain"], mixed_orders["refunded"]
    pending = OrderFactory(
        status="pending", paid_at=None, created_at=datetime(2026, 11, 12, 9, 0, tzinfo=UTC)
    )

    pending.status, pending.paid_at = Order.Status.PAID, datetime(2026, 11, 12, 9, 5, tzinfo=UTC)
    pending.save()
    Order.objects.filter(pk=pending.pk).update(status=Order.Status.FULFILLED)  # same figures, same day
    refunded.refunded_amount_cents = 3000
    refunded.status = Order.Status.REFUNDED
    refunded.save()
    Order.objects.filter(pk=plain.pk).update(
        paid_at=datetime(2026, 11, 30, 23, 30, tzinfo=UTC), payment_method_type="paypal"
    )  # now paid on 1 December in Monaco: out of November
    mixed_orders["discounted"].delete()

    assert lines(revenue_report_from_days(**NOVEMBER)) == lines(revenue_report_from_orders(**NOVEMBER))
    december = {"start": date(2026, 12, 1), "end": date(2026, 12, 31)}
    assert lines(revenue_report_from_days(**december)) == lines(revenue_report_from_orders(**december))
    assert [line.method for line in revenue_report(**december).lines] == ["paypal"]
    (total,) = revenue_report(**NOVEMBER).total()
    assert total.refunds == 3000 and total.count == 3


def test_only_orders_that_took_money_are_counted(db):
    for status in Order.Status.values:
        OrderFactory(status=status, paid_at=datetime(2026, 11, 15, 9, 0, tzinfo=UTC))
    counted = sum(day.count for day in RevenueDay.objects.all())
    assert counted == len(PAID_STATUSES)
    assert lines(revenue_report_from_days(**NOVEMBER)) == lines(revenue_report_from_orders(**NOVEMBER))
