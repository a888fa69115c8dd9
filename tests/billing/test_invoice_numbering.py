"""Invoice and credit-note numbers: one gap-free series per calendar year, safe under concurrency."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection
from django.utils import timezone

from billing.invoicing import InvoiceRefused, credit_note_issue, invoice_issue
from billing.models import Invoice, Order, Refund
from billing.refunds import refund_request
from tests.billing.invoice_helpers import chinese_buyer, issue, paid_order
from tests.fixtures.services import run_in_threads
from tests.usage.card_factories import OwnedCardFactory

MONACO = ZoneInfo("Europe/Monaco")


def _orders(count, owner, week_plan):
    return [paid_order(user=owner, card=OwnedCardFactory(owner=owner), plan=week_plan) for _ in range(count)]


def test_numbers_follow_each_other_from_one_in_each_series(owner, week_plan):
    first, second = _orders(2, owner, week_plan)
    now = timezone.now()
    year = now.astimezone(MONACO).year

    invoices = [issue(first, now=now), issue(second, now=now)]
    refund = refund_request(
        order_id=first.pk,
        amount_cents=500,
        destination=Refund.Destination.WALLET,
        staff_user=None,
        reason="test",
        now=now,
    )
    credit_note = Invoice.objects.get(refund=refund)

    assert [invoice.number for invoice in invoices] == [f"F-{year}-000001", f"F-{year}-000002"]
    assert credit_note.number == f"AV-{year}-000001"


def test_a_new_year_in_monaco_starts_again_at_one(owner, week_plan, settings):
    settings.INVOICE_REQUEST_DAYS = 3650
    december, january = _orders(2, owner, week_plan)
    new_years_eve = datetime(2027, 12, 31, 22, 30, tzinfo=ZoneInfo("UTC"))  # 23:30 in Monaco
    new_year = datetime(2027, 12, 31, 23, 30, tzinfo=ZoneInfo("UTC"))  # 00:30 on 1 January in Monaco

    assert (
        invoice_issue(order=december, buyer=chinese_buyer(), language="en", now=new_years_eve).number
        == "F-2027-000001"
    )
    assert (
        invoice_issue(order=january, buyer=chinese_buyer(), language="en", now=new_year).number
        == "F-2028-000001"
    )


def test_a_failed_issue_gives_its_number_back(owner, week_plan, monkeypatch):
    broken, fine = _orders(2, owner, week_plan)
    original = Invoice.objects.create

    def fail_once(**fields):
        monkeypatch.setattr(Invoice.objects, "create", original)
        raise IntegrityError("the database refused the row")

    monkeypatch.setattr(Invoice.objects, "create", fail_once)
    with pytest.raises(IntegrityError):
        issue(broken)

    assert issue(fine).sequence == 1
    assert issue(broken).sequence == 2


def test_an_order_cannot_be_invoiced_twice_even_at_the_same_moment(owner, week_plan):
    [order] = _orders(1, owner, week_plan)
    issue(order)

    with pytest.raises(InvoiceRefused):
        issue(order, buyer=chinese_buyer(name="Someone else"))
    assert Invoice.objects.filter(order=order).count() == 1


@pytest.mark.integration
def test_twenty_concurrent_requests_get_twenty_numbers_without_a_gap(owner, week_plan):
    assert connection.vendor == "postgresql"
    orders = _orders(20, owner, week_plan)
    now = timezone.now()

    results = run_in_threads(
        20,
        lambda index: (
            invoice_issue(
                order=Order.objects.get(pk=orders[index].pk),
                buyer=chinese_buyer(),
                language="zh-hans",
                now=now,
            ).sequence
        ),
    )

    assert not [result for result in results if isinstance(result, Exception)], results
    assert sorted(results) == list(range(1, 21))
    year = now.astimezone(MONACO).year
    assert sorted(Invoice.objects.values_list("number", flat=True)) == [
        f"F-{year}-{n:06d}" for n in range(1, 21)
    ]


@pytest.mark.integration
def test_concurrent_requests_for_one_order_issue_one_invoice(owner, week_plan):
    [order] = _orders(1, owner, week_plan)

    results = run_in_threads(10, lambda index: issue(Order.objects.get(pk=order.pk)).number)

    numbers = [result for result in results if isinstance(result, str)]
    refused = [result for result in results if isinstance(result, InvoiceRefused)]
    assert len(numbers) == 1 and len(refused) == 9, results
    assert Invoice.objects.get().sequence == 1


@pytest.mark.integration
def test_concurrent_refunds_get_consecutive_credit_note_numbers(owner, week_plan):
    orders = _orders(10, owner, week_plan)
    for order in orders:
        issue(order)
    refunds = [
        Refund.objects.create(order=order, amount_cents=100, destination=Refund.Destination.WALLET)
        for order in orders
    ]
    now = timezone.now()

    results = run_in_threads(10, lambda index: credit_note_issue(refund=refunds[index], now=now).sequence)

    assert sorted(results) == list(range(1, 11)), results
