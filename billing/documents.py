"""Receipts, invoices and credit notes as PDF (portal/lib/pdf.py lays them out).

An invoice is printed in the customer's language with every legal label also in French (Monaco
applies French VAT law): "Invoice date / Date de facture". A document is rendered from its own
row, which never changes, so the same invoice prints the same figures whenever it is downloaded.
"""

from datetime import datetime

from django.conf import settings
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django_countries import countries

from billing.invoicing import Seller, seller, vat_included
from billing.models import Invoice, Order, Refund
from billing.presenters import payment_method_label
from portal.lib.pdf import Cell, PdfDocument
from usage.display import format_gb, format_monaco_datetime, format_money, monaco_zone

LEGAL_LANGUAGE = "fr"
MINUS = "\u2212"  # a real minus sign: a hyphen reads as a dash in a column of amounts


class _Labels:
    """Labels in the document's language, each followed by the French legal term when different."""

    def __init__(self, language: str):
        self.language = language

    def __call__(self, context: str, message: str) -> str:
        with translation.override(self.language):
            local = pgettext(context, message)
        if self.language == LEGAL_LANGUAGE:
            return local
        with translation.override(LEGAL_LANGUAGE):
            legal = pgettext(context, message)
        return local if legal == local else f"{local} / {legal}"


def _date(value: datetime) -> str:
    return date_format(value.astimezone(monaco_zone()).date(), "DATE_FORMAT")


def _address_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _seller_lines(issuer: Seller, label) -> list[str]:
    lines = [issuer.name, *_address_lines(issuer.address)]
    if issuer.vat_id:
        lines.append(f"{label('invoice', 'VAT number')}: {issuer.vat_id}")
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
    money = lambda cents: format_money(cents, invoice.currency)  # noqa: E731
    with translation.override(invoice.language):
        title = label("invoice", "Credit note") if credit else label("invoice", "Invoice")
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
            subtitle=f"{label('invoice', 'No.')} {invoice.number}",
            aside=_seller_lines(issuer, label),
        )
        buyer = [
            invoice.buyer_name,
            *_address_lines(invoice.buyer_address),
            str(countries.name(invoice.buyer_country)),
        ]
        if invoice.buyer_vat_id:
            buyer.append(f"{label('invoice', 'VAT number')}: {invoice.buyer_vat_id}")
        order = invoice.order
        contact = order.customer_email or order.customer_phone
        document.columns(
            [
                (label("invoice", "Billed to"), buyer),
                (
                    label("invoice", "Order"),
                    [order.number or "", *([contact] if contact else [])],
                ),
            ]
        )
        facts = [
            (label("invoice", "Date of issue"), _date(invoice.issued_at)),
            (label("invoice", "Date of supply"), _date(invoice.supplied_at)),
        ]
        if credit and invoice.corrects is not None:
            facts.append(
                (
                    label("invoice", "Corrects invoice"),
                    f"{invoice.corrects.number} ({_date(invoice.corrects.issued_at)})",
                )
            )
            facts.append(
                (
                    label("invoice", "Refunded to"),
                    str(Refund.Destination(invoice.payment_method).label)
                    if invoice.payment_method in Refund.Destination.values
                    else invoice.payment_method,
                )
            )
        else:
            facts.append((label("invoice", "Payment method"), payment_method_label(invoice.payment_method)))
            if invoice.paid_at:
                facts.append((label("invoice", "Paid on"), _date(invoice.paid_at)))
        document.facts(facts)

        rate = f"{invoice.vat_percent} %"
        if credit:
            reason = (
                _("Withdrawal from the purchase")
                if invoice.reason == Invoice.Reason.WITHDRAWAL
                else _("Refund")
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
                        Cell(label("invoice", "Discount")),
                        Cell(""),
                        Cell(""),
                        Cell(rate, "R"),
                        Cell(money(discount_net), "R"),
                    ]
                )
        document.table(
            headings=[
                Cell(label("invoice", "Description")),
                Cell(label("invoice", "Qty"), "R"),
                Cell(label("invoice", "Unit price excl. VAT"), "R"),
                Cell(label("invoice", "VAT rate"), "R"),
                Cell(label("invoice", "Amount excl. VAT"), "R"),
            ],
            rows=rows,
            widths=(0.43, 0.07, 0.18, 0.12, 0.2),
        )
        totals = [
            (f"{label('invoice', 'Taxable amount')} ({rate})", money(invoice.net_cents), False),
            (f"{label('invoice', 'VAT')} ({rate})", money(invoice.vat_cents), False),
            (
                label("invoice", "Total credited incl. VAT")
                if credit
                else label("invoice", "Total incl. VAT"),
                money(invoice.gross_cents),
                True,
            ),
        ]
        if not credit and order.wallet_applied_cents and invoice.gross_cents:
            totals.append((_("of which paid with account credit"), money(order.wallet_applied_cents), False))
        document.totals(totals)

        if credit:
            document.paragraph(
                label(
                    "invoice",
                    "This credit note corrects the invoice named above; its amounts are deducted from it.",
                )
            )
        else:
            document.paragraph(label("invoice", "Paid in full: nothing is due."), bold=True)
        if invoice.buyer_vat_id:
            check = (
                label(
                    "invoice",
                    "The buyer's VAT number was checked for format and check digits only, not with VIES.",
                )
                if invoice.buyer_vat_id_check == Invoice.VatIdCheck.FORMAT
                else label(
                    "invoice", "The buyer's tax number is printed as given; its format could not be checked."
                )
            )
            document.paragraph(check, small=True)
        document.paragraph(
            label("invoice", "French VAT applies in Monaco. Amounts in euros; dates in Monaco time."),
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
            aside=_seller_lines(issuer, lambda context, message: pgettext(context, message)),
        )
        document.facts(
            [
                (_("Order date"), format_monaco_datetime(order.created_at)),
                (_("Paid on"), format_monaco_datetime(order.paid_at) if order.paid_at else "—"),
                (_("Customer"), order.customer_email or order.customer_phone or "—"),
                (_("Card"), order.card.iccid if order.card_id else _("New eSIM")),
                (_("Payment method"), payment_method_label(order.payment_method_type)),
                (_("Status"), order.get_status_display()),
            ]
        )
        data = format_gb(order.plan_data_bytes)
        if order.bonus_bytes:
            data += f" + {format_gb(order.bonus_bytes)} {_('bonus')}"
        rows = [
            [
                Cell(f"{order.plan_name}\n{data} · {order.plan_period_label}"),
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
