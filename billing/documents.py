"""Receipts, invoices and credit notes as PDF (portal/lib/pdf.py lays them out).

An invoice is printed in the customer's language with every legal label also in French (Monaco
applies French VAT law): "Invoice date / Date de facture". A document is rendered from its own
row, which never changes, so the same invoice prints the same figures whenever it is downloaded.
"""

from datetime import datetime

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from django_countries import countries

from accounts.phone import phone_display
from billing.invoicing import Seller, seller
from billing.models import Invoice, Order, Refund
from billing.presenters import order_plan_name, payment_method_label
from notices.models import Notification
from notices.services import Attachment, notice_send
from portal.lib.display import format_gb, format_monaco_datetime, format_money, monaco_zone
from portal.lib.money import vat_included
from portal.lib.pdf import Cell, PdfDocument

LEGAL_LANGUAGE = "fr"
MINUS = "\u2212"  # a real minus sign: a hyphen reads as a dash in a column of amounts

# Legal labels: printed in the customer's language, then in French (pgettext context "invoice").
LABELS = {
    "vat_number": pgettext_lazy("invoice", "VAT number"),
    "credit_note": pgettext_lazy("invoice", "Credit note"),
    "invoice": pgettext_lazy("invoice", "Invoice"),
    "no": pgettext_lazy("invoice", "No."),
    "billed_to": pgettext_lazy("invoice", "Billed to"),
    "order": pgettext_lazy("invoice", "Order"),
    "date_of_issue": pgettext_lazy("invoice", "Date of issue"),
    "date_of_supply": pgettext_lazy("invoice", "Date of supply"),
    "corrects_invoice": pgettext_lazy("invoice", "Corrects invoice"),
    "refunded_to": pgettext_lazy("invoice", "Refunded to"),
    "payment_method": pgettext_lazy("invoice", "Payment method"),
    "paid_on": pgettext_lazy("invoice", "Paid on"),
    "discount": pgettext_lazy("invoice", "Discount"),
    "description": pgettext_lazy("invoice", "Description"),
    "qty": pgettext_lazy("invoice", "Qty"),
    "unit_price_excl_vat": pgettext_lazy("invoice", "Unit price excl. VAT"),
    "vat_rate": pgettext_lazy("invoice", "VAT rate"),
    "amount_excl_vat": pgettext_lazy("invoice", "Amount excl. VAT"),
    "taxable_amount": pgettext_lazy("invoice", "Taxable amount"),
    "vat": pgettext_lazy("invoice", "VAT"),
    "total_credited_incl_vat": pgettext_lazy("invoice", "Total credited incl. VAT"),
    "total_incl_vat": pgettext_lazy("invoice", "Total incl. VAT"),
    "credit_note_note": pgettext_lazy(
        "invoice", "This credit note corrects the invoice named above; its amounts are deducted from it."
    ),
    "paid_in_full": pgettext_lazy("invoice", "Paid in full: nothing is due."),
    "vat_id_format_checked": pgettext_lazy(
        "invoice", "The buyer's VAT number was checked for format and check digits only, not with VIES."
    ),
    "vat_id_unchecked": pgettext_lazy(
        "invoice", "The buyer's tax number is printed as given; its format could not be checked."
    ),
    "reason_refund": pgettext_lazy("invoice", "Refund"),
    "reason_withdrawal": pgettext_lazy("invoice", "Withdrawal from the purchase"),
    "french_vat": pgettext_lazy(
        "invoice", "French VAT applies in Monaco. Amounts in euros; dates in Monaco time."
    ),
}


class _Labels:
    """Labels in the document's language, each followed by the French legal term when different."""

    def __init__(self, language: str):
        self.language = language

    def __call__(self, key: str) -> str:
        message = LABELS[key]
        with translation.override(self.language):
            local = str(message)
        if self.language == LEGAL_LANGUAGE:
            return local
        with translation.override(LEGAL_LANGUAGE):
            legal = str(message)
        return local if legal == local else f"{local} / {legal}"


def signed_money(cents: int, currency: str) -> str:
    """A real minus before the symbol, not "€-7.45": credit notes and the admin show negative amounts with a real minus."""
    return MINUS + format_money(-cents, currency) if cents < 0 else format_money(cents, currency)


def _date(value: datetime) -> str:
    return date_format(value.astimezone(monaco_zone()).date(), "DATE_FORMAT")


def _address_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _seller_lines(issuer: Seller, label) -> list[str]:
    lines = [issuer.name, *_address_lines(issuer.address)]
    if issuer.vat_id:
        lines.append(f"{label('vat_number')}: {issuer.vat_id}")
    if issuer.registration:
        lines.append(issuer.registration)
    return lines


def _specimen(document: PdfDocument, specimen: bool) -> None:
    if specimen:
        document.banner(
            _("SPECIMEN: a sample document, not a valid invoice")
            + " / SPÉCIMEN : document d'exemple, sans valeur"
        )


def invoice_pdf(invoice: Invoice, *, specimen: bool = False) -> bytes:
    label = _Labels(invoice.language)
    credit = invoice.is_credit_note
    money = lambda cents: signed_money(cents, invoice.currency)  # noqa: E731
    with translation.override(invoice.language):
        title = label("credit_note") if credit else label("invoice")
        issuer = Seller(
            name=invoice.seller_name,
            address=invoice.seller_address,
            vat_id=invoice.seller_vat_id,
            registration=invoice.seller_registration,
        )
        document = PdfDocument(
            title=f"{title} {invoice.number}",
            author=invoice.seller_name,
            language=invoice.language,
            created_at=invoice.issued_at,
            footer=f"{invoice.seller_name} · {invoice.seller_vat_id} · {invoice.number}",
        )
        _specimen(document, specimen)
        document.heading(
            title=title,
            subtitle=f"{label('no')} {invoice.number}",
            aside=_seller_lines(issuer, label),
        )
        buyer = [
            invoice.buyer_name,
            *_address_lines(invoice.buyer_address),
            str(countries.name(invoice.buyer_country)),
        ]
        if invoice.buyer_vat_id:
            buyer.append(f"{label('vat_number')}: {invoice.buyer_vat_id}")
        order = invoice.order
        contact = order.customer_email or order.customer_phone
        document.columns(
            [
                (label("billed_to"), buyer),
                (
                    label("order"),
                    [order.number or "", *([contact] if contact else [])],
                ),
            ]
        )
        facts = [
            (label("date_of_issue"), _date(invoice.issued_at)),
            (label("date_of_supply"), _date(invoice.supplied_at)),
        ]
        if credit and invoice.corrects is not None:
            facts.append(
                (
                    label("corrects_invoice"),
                    f"{invoice.corrects.number} ({_date(invoice.corrects.issued_at)})",
                )
            )
            facts.append(
                (
                    label("refunded_to"),
                    str(Refund.Destination(invoice.payment_method).label)
                    if invoice.payment_method in Refund.Destination.values
                    else invoice.payment_method,
                )
            )
        else:
            facts.append((label("payment_method"), payment_method_label(invoice.payment_method)))
            if invoice.paid_at:
                facts.append((label("paid_on"), _date(invoice.paid_at)))
        document.facts(facts)

        rate = f"{invoice.vat_percent} %"
        if credit:
            reason = label(
                "reason_withdrawal" if invoice.reason == Invoice.Reason.WITHDRAWAL else "reason_refund"
            )
            rows = [
                [
                    Cell(f"{invoice.description}\n{reason}"),
                    Cell("1", "R"),
                    Cell(money(invoice.net_cents), "R"),
                    Cell(rate, "R"),
                    Cell(money(invoice.net_cents), "R"),
                ]
            ]
        else:
            list_net = invoice.list_price_cents - vat_included(invoice.list_price_cents, invoice.vat_rate_bp)
            rows = [
                [
                    Cell(invoice.description),
                    Cell(str(invoice.quantity), "R"),
                    Cell(money(list_net), "R"),
                    Cell(rate, "R"),
                    Cell(money(list_net * invoice.quantity), "R"),
                ]
            ]
            if invoice.discount_cents:
                discount_net = invoice.net_cents - list_net * invoice.quantity
                rows.append(
                    [
                        Cell(label("discount")),
                        Cell(""),
                        Cell(""),
                        Cell(rate, "R"),
                        Cell(money(discount_net), "R"),
                    ]
                )
        document.table(
            headings=[
                Cell(label("description")),
                Cell(label("qty"), "R"),
                Cell(label("unit_price_excl_vat"), "R"),
                Cell(label("vat_rate"), "R"),
                Cell(label("amount_excl_vat"), "R"),
            ],
            rows=rows,
            widths=(0.43, 0.07, 0.18, 0.12, 0.2),
        )
        totals = [
            (f"{label('taxable_amount')} ({rate})", money(invoice.net_cents), False),
            (f"{label('vat')} ({rate})", money(invoice.vat_cents), False),
            (
                label("total_credited_incl_vat") if credit else label("total_incl_vat"),
                money(invoice.gross_cents),
                True,
            ),
        ]
        if not credit and order.wallet_applied_cents and invoice.gross_cents:
            totals.append((_("of which paid with account credit"), money(order.wallet_applied_cents), False))
        document.totals(totals)

        if credit:
            document.paragraph(label("credit_note_note"))
        else:
            document.paragraph(label("paid_in_full"), bold=True)
        if invoice.buyer_vat_id:
            check = (
                label("vat_id_format_checked")
                if invoice.buyer_vat_id_check == Invoice.VatIdCheck.FORMAT
                else label("vat_id_unchecked")
            )
            document.paragraph(check, small=True)
        document.paragraph(
            label("french_vat"),
            small=True,
        )
        return document.output()


def receipt_pdf(order: Order, *, language: str) -> bytes:
    """The printable receipt of a paid order, in the customer's language."""
    issuer = seller()
    money = lambda cents: format_money(cents, order.currency)  # noqa: E731
    with translation.override(language):
        title = _("Receipt")
        document = PdfDocument(
            title=f"{title} {order.number}",
            author=issuer.name,
            language=language,
            created_at=order.paid_at or order.created_at,
            footer=f"{issuer.name} · {order.number}",
        )
        document.heading(
            title=title,
            subtitle=order.number or "",
            aside=_seller_lines(issuer, lambda key: str(LABELS[key])),
        )
        document.facts(
            [
                (_("Order date"), format_monaco_datetime(order.created_at)),
                (_("Paid on"), format_monaco_datetime(order.paid_at) if order.paid_at else "—"),
                (_("Customer"), order.customer_email or phone_display(order.customer_phone) or "—"),
                (_("Card"), order.card.iccid if order.card else _("New eSIM")),
                (_("Payment method"), payment_method_label(order.payment_method_type)),
                (_("Status"), order.get_status_display()),
            ]
        )
        data = format_gb(order.plan_data_bytes)
        if order.bonus_bytes:
            data += f" + {format_gb(order.bonus_bytes)} {_('bonus')}"
        rows = [
            [
                Cell(f"{order_plan_name(order, language).text}\n{data} · {order.plan_period_label}"),
                Cell(money(order.list_price_cents), "R"),
            ]
        ]
        if order.discount_cents:
            rows.append(
                [
                    Cell(_("Promo code %(code)s") % {"code": order.promotion_code}),
                    Cell(MINUS + money(order.discount_cents), "R"),
                ]
            )
        document.table(headings=[Cell(_("Item")), Cell(_("Amount"), "R")], rows=rows, widths=(0.75, 0.25))
        totals = [(_("Total paid (VAT included)"), money(order.paid_cents), True)]
        if order.wallet_applied_cents:
            totals.append((_("of which account credit"), money(order.wallet_applied_cents), False))
            totals.append((_("of which charged"), money(order.amount_charged_cents), False))
        totals.append(
            (_("of which VAT (%(rate)s %%)") % {"rate": order.vat_percent}, money(order.vat_cents), False)
        )
        document.totals(totals)
        refunds = list(order.refunds.order_by("created_at", "id"))
        if refunds:
            document.paragraph(_("Refunds"), bold=True)
            document.table(
                headings=[Cell(_("Date")), Cell(_("Refunded to")), Cell(_("Amount"), "R")],
                rows=[
                    [
                        Cell(format_monaco_datetime(refund.created_at)),
                        Cell(refund.get_destination_display()),
                        Cell(MINUS + money(refund.amount_cents), "R"),
                    ]
                    for refund in refunds
                ],
                widths=(0.45, 0.3, 0.25),
            )
        document.paragraph(_("Prices include VAT. Times are Monaco time."), small=True)
        return document.output()


def document_language(*, order: Order) -> str:
    """The language a customer's documents are printed in: theirs, else the order's."""
    language = (order.customer.language if order.customer_id and order.customer else "") or order.language
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


class DocumentNotSent(Exception):
    """Why a document cannot be emailed, in the active language."""


def document_email_send(*, document: Invoice, key: str) -> Notification:
    """Email an invoice or credit note to the order's customer, the PDF attached.

    `key` makes each request its own notice (a customer or an agent may ask again later).
    """
    order = document.order
    user = order.customer
    if user is None or getattr(user, "anonymised_at", None):
        raise DocumentNotSent(_("This order has no customer account any more."))
    if not user.email:
        raise DocumentNotSent(_("There is no email address on the account: add one on the profile page."))
    sent = notice_send(
        user=user,
        kind="invoice_document",
        key=f"{document.number}:{key}",
        context={
            "document_number": document.number,
            "document_kind": document.kind,
            "order_number": order.number,
            "receipt_url": settings.SITE_URL + reverse("billing:receipt", args=[order.number]),
        },
        email_only=True,
        attachments=[Attachment(document.file_name, "application/pdf", invoice_pdf(document))],
    )
    if not sent:
        raise DocumentNotSent(_("This document was just sent. Please check your inbox."))
    return sent[0]
