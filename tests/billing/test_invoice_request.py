"""A traveller asks for an invoice on the receipt page and downloads it as PDF."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import Invoice, Order
from tests.billing.invoice_helpers import CHINESE_COMPANY, issue, paid_order, pdf_text, render_first_page


@pytest.fixture
def order(owner, card, week_plan):
    return paid_order(user=owner, card=card, plan=week_plan)


def _request(client, order, **fields):
    data = {
        "name": CHINESE_COMPANY,
        "address": "上海市浦东新区世纪大道 100 号\n200120 上海",
        "country": "CN",
        "vat_id": "",
        "confirm": "on",
        **fields,
    }
    return client.post(reverse("billing:invoice_request", args=[order.number]), data)


def test_the_receipt_offers_an_invoice_until_the_window_closes(owner_client, order, settings):
    page = owner_client.get(reverse("billing:receipt", args=[order.number]))

    assert page.status_code == 200
    assert "Issue the invoice" in page.content.decode()
    assert "VIES" in page.content.decode()  # says plainly the number is not looked up there


@pytest.mark.usefixtures("compiled_translations")
def test_a_chinese_company_gets_a_numbered_invoice_with_its_name_in_the_pdf(owner, owner_client, order):
    owner.language = "zh-hans"
    owner.save(update_fields=["language"])
    response = _request(owner_client, order)

    assert response.status_code == 302
    invoice = Invoice.objects.get()
    year = timezone.localtime(invoice.issued_at).year
    assert invoice.number == f"F-{year}-000001"
    assert (invoice.buyer_name, invoice.buyer_country, invoice.buyer_vat_id) == (CHINESE_COMPANY, "CN", "")
    assert invoice.gross_cents == 1490 and invoice.vat_cents == 248 and invoice.net_cents == 1242

    page = owner_client.get(reverse("billing:receipt", args=[order.number]))
    assert invoice.number in page.content.decode()
    assert "Issue the invoice" not in page.content.decode()

    pdf = owner_client.get(reverse("billing:document_pdf", args=[order.number, invoice.number]))
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert f'filename="{invoice.number}.pdf"' in pdf["Content-Disposition"]
    text = pdf_text(pdf.content)
    assert CHINESE_COMPANY in text
    assert invoice.number in text
    assert invoice.language == "zh-hans"
    assert "发票/Facture" in text  # the customer's language, the legal label in French beside it
    assert "开具日期/Dated'émission" in text
    assert "含税总额/TotalTTC" in text
    render_first_page(pdf.content, "invoice-chinese-company")


def test_the_receipt_itself_downloads_as_pdf(owner_client, order):
    pdf = owner_client.get(reverse("billing:receipt_pdf", args=[order.number]))

    assert pdf.status_code == 200
    text = pdf_text(pdf.content)
    assert order.number in text
    assert "14.90" in text


def test_an_outsider_sees_neither_the_receipt_nor_the_invoice(owner_client, outsider_client, order):
    invoice = issue(order)

    assert outsider_client.get(reverse("billing:receipt", args=[order.number])).status_code == 404
    assert outsider_client.get(reverse("billing:receipt_pdf", args=[order.number])).status_code == 404
    assert (
        outsider_client.get(reverse("billing:document_pdf", args=[order.number, invoice.number])).status_code
        == 404
    )
    assert _request(outsider_client, order).status_code == 404
    assert Invoice.objects.count() == 1


def test_an_order_is_invoiced_once(owner_client, order):
    _request(owner_client, order)
    response = _request(owner_client, order, name="Another name")

    assert Invoice.objects.count() == 1
    assert Invoice.objects.get().buyer_name == CHINESE_COMPANY
    assert response.status_code in (302, 400)


def test_after_the_window_the_receipt_says_to_contact_support(owner_client, order, settings):
    settings.INVOICE_REQUEST_DAYS = 30
    Order.objects.filter(pk=order.pk).update(paid_at=timezone.now() - timedelta(days=30, minutes=1))

    page = owner_client.get(reverse("billing:receipt", args=[order.number]))
    response = _request(owner_client, order)

    assert "within 30 days of payment" in page.content.decode()
    assert "Issue the invoice" not in page.content.decode()
    assert Invoice.objects.count() == 0
    assert response.status_code in (302, 400)


def test_without_seller_details_no_invoice_is_issued(owner_client, order, settings):
    settings.SELLER_VAT_NUMBER = ""

    response = _request(owner_client, order)

    assert Invoice.objects.count() == 0
    assert response.status_code in (302, 400)


def test_details_that_cannot_be_printed_are_refused(owner_client, order):
    response = _request(owner_client, order, name="Emoji Ltd \U0001f600")

    assert response.status_code == 400
    assert "cannot be printed" in response.content.decode()
    assert Invoice.objects.count() == 0


def test_the_confirmation_box_is_required(owner_client, order):
    response = _request(owner_client, order, confirm="")

    assert response.status_code == 400
    assert Invoice.objects.count() == 0
