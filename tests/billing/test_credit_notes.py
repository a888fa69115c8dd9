"""Refunds of an invoiced order issue credit notes: negative, numbered, and adding up to the invoice."""

import pytest
from django.utils import timezone

from billing.documents import invoice_pdf
from billing.models import Invoice, Refund
from billing.refunds import refund_request
from tests.billing.invoice_helpers import CHINESE_COMPANY, issue, paid_order, pdf_text, render_first_page


@pytest.fixture
def order(owner, card, week_plan):
    return paid_order(user=owner, card=card, plan=week_plan)


def _refund(order, cents, *, destination=Refund.Destination.WALLET):
    return refund_request(
        order_id=order.pk,
        amount_cents=cents,
        destination=destination,
        staff_user=None,
        now=timezone.now(),
        reason="test",
    )


def test_a_partial_refund_issues_a_credit_note_for_that_amount(order):
    invoice = issue(order)

    refund = _refund(order, 500)

    note = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)
    assert note.refund == refund and note.corrects == invoice
    # 500 with 20 % included: 83.33 VAT, rounded to 83; taxable 417.
    assert (note.gross_cents, note.vat_cents, note.net_cents) == (-500, -83, -417)
    assert note.buyer_name == CHINESE_COMPANY and note.vat_rate_bp == invoice.vat_rate_bp


def test_partial_refunds_that_complete_the_price_bring_invoice_and_credit_notes_to_zero(order):
    invoice = issue(order)  # 1490 gross, 248 VAT

    for cents in (333, 333, 824):
        _refund(order, cents)

    notes = Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).order_by("sequence")
    assert [note.gross_cents for note in notes] == [-333, -333, -824]
    # vat_included(333, 2000) = 56 twice; the last one takes the rest of the invoice's VAT.
    assert [note.vat_cents for note in notes] == [-56, -56, -136]
    assert invoice.gross_cents + sum(note.gross_cents for note in notes) == 0
    assert invoice.vat_cents + sum(note.vat_cents for note in notes) == 0
    assert invoice.net_cents + sum(note.net_cents for note in notes) == 0


def test_a_refund_of_an_order_without_an_invoice_issues_nothing(order):
    _refund(order, 500)

    assert not Invoice.objects.exists()


def test_an_invoice_asked_for_after_a_refund_comes_with_its_credit_note(order):
    _refund(order, 490)

    invoice = issue(order)

    note = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)
    assert invoice.gross_cents == 1490 and note.gross_cents == -490 and note.corrects == invoice
    assert note.sequence == 1


def test_a_fully_refunded_order_is_not_invoiced(order):
    _refund(order, 1490)

    with pytest.raises(Exception, match="refunded in full"):
        issue(order)


@pytest.mark.usefixtures("compiled_translations")
def test_the_credit_note_pdf_names_the_invoice_it_corrects(order):
    invoice = issue(order, language="fr")
    _refund(order, 745)
    note = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)

    content = invoice_pdf(note)
    text = pdf_text(content)

    assert "Avoir" in text and note.number in text and invoice.number in text
    assert "\u22127,45" in text  # negative, with a real minus sign, in French number format
    assert CHINESE_COMPANY in text
    render_first_page(content, "credit-note-french")
