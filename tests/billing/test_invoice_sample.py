"""`manage.py invoice_sample` writes a specimen invoice and credit note, using no number."""

import io

import pytest
from django.core.management import call_command

from billing.models import DocumentSequence, Invoice
from tests.billing.invoice_helpers import CHINESE_COMPANY, pdf_text, render_first_page


@pytest.mark.usefixtures("compiled_translations")
def test_it_writes_both_pdfs_marked_as_specimens(tmp_path):
    call_command("invoice_sample", "--output-dir", str(tmp_path), stdout=io.StringIO())

    invoice = (tmp_path / "invoice-sample.pdf").read_bytes()
    credit_note = (tmp_path / "credit-note-sample.pdf").read_bytes()
    assert CHINESE_COMPANY in pdf_text(invoice) and CHINESE_COMPANY in pdf_text(credit_note)
    assert "SPÉCIMEN" in pdf_text(invoice)
    assert "红字发票/Avoir" in pdf_text(credit_note)
    assert not Invoice.objects.exists() and not DocumentSequence.objects.exists()
    render_first_page(invoice, "invoice-sample")
    render_first_page(credit_note, "credit-note-sample")
