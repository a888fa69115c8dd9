"""On PostgreSQL the CSV export is written by the database (COPY): the same bytes as the generic path."""

from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.utils import translation

from billing.exports import ExportFilter, csv_chunks, csv_copy_chunks, csv_rows_chunks, orders_in_range
from billing.invoicing import credit_note_issue
from billing.models import Refund, Withdrawal
from tests.billing.invoice_helpers import issue
from tests.finance.test_export import mixed_orders  # noqa: F401 (fixture)
from tests.support.factories import OrderFactory, PlanFactory, RefundFactory, UserFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY path is PostgreSQL's"),
]

NOVEMBER = ExportFilter(date(2026, 11, 1), date(2026, 11, 30))
AWKWARD = [
    "Rossi, Carla",
    'Carla "CJ" Rossi',
    "Line one\nline two",
    "Tab\there",
    "Ünïcödé 王",
    "a\r\nb",
    "back\\slash \\n not a line break",
    "=SUM(A1:A9)",
    "+377 plus",
    "-minus",
    "@at",
    "\tleading tab",
    "\rleading return",
    "",
    "'already quoted",
    "\\.",
]


@pytest.fixture
def awkward_orders(mixed_orders):  # noqa: F811
    for number, name in enumerate(AWKWARD):
        OrderFactory(
            customer=UserFactory(
                name=name, email=f"=p{number}@example.com" if number % 3 == 0 else f"u{number}@example.com"
            ),
            customer_email="" if number % 2 else f"buyer{number}@example.com",
            customer_phone="+37761234567" if number % 4 == 0 else "",
            promotion_code=["P,1", '"Q"', "-10", "@x", "a\nb", ""][number % 6],
            plan=PlanFactory(code=f"p{number}", name=f'Plan "{number}", {name}'),
            payment_method_type=["card", "alipay", "wechat_pay", "paypal"][number % 4],
            created_at=datetime(2026, 11, 10 + number % 10, 22, 59, 59, tzinfo=UTC),
        )
    # Never paid (dated by its creation), no card, no customer, no payment intent.
    OrderFactory(
        status="pending", card=None, new_esim=True, stripe_payment_intent_id=None, number="MC-2026-900001"
    )
    OrderFactory(status="expired", paid_at=None, customer=None, card=None, new_esim=True, customer_email="")
    # Odd VAT and rounding; a wallet-only order.
    odd = PlanFactory(code="odd", name="Odd", price_cents=999, vat_rate_bp=550)
    OrderFactory(plan=odd, discount_cents=333)
    OrderFactory(wallet_applied_cents=1990, payment_method_type="")
    # Refunds: succeeded ones listed in order, a failed one left out; an invoice with credit notes.
    refunded = mixed_orders["refunded"]
    RefundFactory(order=refunded, status=Refund.Status.FAILED, succeeded_at=None, amount_cents=5)
    invoiced = mixed_orders["wallet"]
    issue(invoiced, now=datetime(2026, 11, 4, 10, 0, tzinfo=UTC))
    for day in (8, 9):
        refund = RefundFactory(
            order=invoiced, amount_cents=100, created_at=datetime(2026, 11, day, tzinfo=UTC)
        )
        credit_note_issue(refund=refund, now=datetime(2026, 11, day, 12, 0, tzinfo=UTC))
    invoiced.refunded_amount_cents = 200
    invoiced.status = "partially_refunded"
    invoiced.save()
    Withdrawal.objects.create(
        order=mixed_orders["plain"],
        requested_at=datetime(2026, 11, 2, 9, 30, 15, 123456, tzinfo=UTC),
        data_unused_bp=10000,
        time_unused_bp=9000,
        refund_cents=1500,
        to_wallet_cents=1500,
    )
    return mixed_orders


@pytest.mark.parametrize("language", ["en", "fr", "zh-hans", "it"])
def test_the_copy_path_writes_the_same_bytes_as_the_generic_path(awkward_orders, language):
    with translation.override(language):
        generic = b"".join(csv_rows_chunks(NOVEMBER))
        copied = b"".join(csv_copy_chunks(NOVEMBER))
    assert generic.count(b"\r\n") > len(AWKWARD)  # the awkward orders are in the file
    assert b"; " in generic and b"'=SUM" in generic and b"\\slash" in generic
    assert copied == generic


def test_the_copy_path_keeps_the_status_filter_and_the_range(awkward_orders):
    for export_filter in (
        ExportFilter(date(2026, 11, 1), date(2026, 11, 5), ("partially_refunded", "fulfilled")),
        ExportFilter(date(2026, 11, 12), date(2026, 11, 12)),
        ExportFilter(date(2025, 1, 1), date(2025, 1, 31)),
    ):
        assert b"".join(csv_copy_chunks(export_filter)) == b"".join(csv_rows_chunks(export_filter))


def test_the_export_reports_progress_in_orders_written(awkward_orders):
    seen = []
    content = b"".join(csv_chunks(NOVEMBER, progress=seen.append))
    assert content == b"".join(csv_rows_chunks(NOVEMBER))
    assert seen == [orders_in_range(NOVEMBER).count()]
