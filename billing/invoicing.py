"""Invoices on request and credit notes for refunds (Art. 226 and 219 of Directive 2006/112/EC).

Rules (written down in the invoices note for DOMAIN.md):
- A customer may ask for an invoice for a paid order, on its receipt page, within
  INVOICE_REQUEST_DAYS of payment, once per order. A fully refunded or disputed order is not
  invoiced (support can help).
- Numbers come from two gap-free series per calendar year (Monaco time of issue):
  invoices F-2026-000001, F-2026-000002, …; credit notes AV-2026-000001, … (AV for "avoir").
  A number is taken in the transaction that writes the document, so a failure takes neither.
- A document is written once and never changed or deleted (AppendOnlyModel; PostgreSQL refuses
  with a trigger). Everything printed is copied onto it when issued.
- The invoice records the sale as it was made: the plan's VAT rate, included in the price paid
  (card and account credit together), the plan's list price and discount. The buyer's VAT number
  is printed as given, format-checked; no reverse charge is applied.
- Each refund of an invoiced order issues one credit note for the refunded amount, negative,
  pointing at the invoice; the credit note that completes a full refund takes exactly the
  invoice's remaining VAT, so invoice plus credit notes come to zero to the cent. Refunds made
  before the invoice was asked for get their credit notes in the same transaction as the invoice.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet, Sum
from django.utils import translation
from django.utils.translation import gettext as _

from billing.models import DocumentSequence, Invoice, Order, Refund, Withdrawal
from billing.presenters import order_plan_name
from portal.lib.display import format_gb, monaco_zone
from portal.lib.money import vat_included

SERIES_PREFIX = {Invoice.Kind.INVOICE: "F", Invoice.Kind.CREDIT_NOTE: "AV"}
INVOICEABLE_STATUSES = (Order.Status.PAID, Order.Status.FULFILLED, Order.Status.PARTIALLY_REFUNDED)


class InvoiceRefused(Exception):
    """Why an invoice cannot be issued, in the active language, for the customer."""


@dataclass(frozen=True)
class Seller:
    name: str
    address: str
    vat_id: str
    registration: str

    @property
    def complete(self) -> bool:
        return bool(self.name.strip() and self.address.strip() and self.vat_id.strip())


@dataclass(frozen=True)
class Buyer:
    name: str
    address: str
    country: str
    vat_id: str = ""
    vat_id_check: str = Invoice.VatIdCheck.NONE
    email: str = ""


def seller() -> Seller:
    return Seller(
        name=settings.SELLER_NAME or settings.SITE_NAME,
        address=settings.SELLER_ADDRESS,
        vat_id=settings.SELLER_VAT_NUMBER,
        registration=getattr(settings, "SELLER_REGISTRATION", ""),
    )


def invoice_request_deadline(*, order: Order) -> datetime | None:
    if order.paid_at is None:
        return None
    return order.paid_at + timedelta(days=settings.INVOICE_REQUEST_DAYS)


def invoice_refusal(*, order: Order, now: datetime) -> str | None:
    """Why this order cannot be invoiced now, or None when it can (the page and the service agree)."""
    if Invoice.objects.filter(order=order, kind=Invoice.Kind.INVOICE).exists():
        return _("This order already has an invoice.")
    if not seller().complete:
        return _("Invoices cannot be issued at the moment. Please contact support.")
    if order.paid_at is None:
        return _("Only a paid order can be invoiced.")
    if order.status == Order.Status.REFUNDED:
        return _("This order was refunded in full, so there is nothing to invoice.")
    if order.status not in INVOICEABLE_STATUSES:
        return _("This order cannot be invoiced online. Please contact support.")
    deadline = invoice_request_deadline(order=order)
    if deadline is not None and now > deadline:
        return _("Invoices can be requested within %(days)d days of payment. Please contact support.") % {
            "days": settings.INVOICE_REQUEST_DAYS
        }
    return None


def _next_number(*, kind: str, issued_at: datetime) -> tuple[int, int, str]:
    """(year, sequence, number) for the next document of `kind`; call inside the issuing transaction.

    The UPDATE takes the sequence row's lock (PostgreSQL) or the database's write lock (SQLite,
    which takes it at BEGIN already: transaction_mode IMMEDIATE) and holds it until commit, so
    concurrent issuers queue here and each sees the number the previous one committed. A
    rollback gives the number back: no gaps.
    """
    year = issued_at.astimezone(monaco_zone()).year
    DocumentSequence.objects.bulk_create(
        [DocumentSequence(kind=kind, year=year, last_number=0)], ignore_conflicts=True
    )
    DocumentSequence.objects.filter(kind=kind, year=year).update(last_number=F("last_number") + 1)
    sequence = DocumentSequence.objects.get(kind=kind, year=year).last_number
    return year, sequence, f"{SERIES_PREFIX[Invoice.Kind(kind)]}-{year}-{sequence:06d}"


def invoice_description(order: Order, language: str) -> str:
    with translation.override(language):
        data = format_gb(order.total_bytes)
        card = order.card.iccid if order.card else _("new eSIM")
        return _("Mobile data plan %(plan)s: %(data)s, %(period)s, card %(card)s") % {
            "plan": order_plan_name(order, language).text,
            "data": data,
            "period": order.plan_period_label,
            "card": card,
        }


def invoice_issue(*, order: Order, buyer: Buyer, language: str, now: datetime) -> Invoice:
    """Issue the invoice for a paid order (and credit notes for refunds it already had)."""
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    with transaction.atomic():
        order = Order.objects.select_for_update(of=("self",)).select_related("card").get(pk=order.pk)
        refusal = invoice_refusal(order=order, now=now)
        if refusal:
            raise InvoiceRefused(refusal)
        issuer = seller()
        year, sequence, number = _next_number(kind=Invoice.Kind.INVOICE, issued_at=now)
        gross = order.paid_cents
        vat = vat_included(gross, order.vat_rate_bp)
        invoice = Invoice.objects.create(
            kind=Invoice.Kind.INVOICE,
            number=number,
            year=year,
            sequence=sequence,
            order=order,
            reason=Invoice.Reason.SALE,
            issued_at=now,
            language=language,
            seller_name=issuer.name,
            seller_address=issuer.address,
            seller_vat_id=issuer.vat_id,
            seller_registration=issuer.registration,
            buyer_name=buyer.name.strip(),
            buyer_address=buyer.address.strip(),
            buyer_country=buyer.country,
            buyer_vat_id=buyer.vat_id,
            buyer_vat_id_check=buyer.vat_id_check,
            buyer_email=buyer.email,
            description=invoice_description(order, language)[:300],
            quantity=1,
            supplied_at=cast(datetime, order.paid_at),  # only a paid order is invoiced
            payment_method=order.payment_method_type,
            paid_at=order.paid_at,
            currency=order.currency,
            vat_rate_bp=order.vat_rate_bp,
            list_price_cents=order.list_price_cents,
            discount_cents=order.discount_cents,
            gross_cents=gross,
            vat_cents=vat,
            net_cents=gross - vat,
        )
        for refund in refunds_to_credit(order=order):
            _credit_note_write(invoice=invoice, refund=refund, now=now)
    return invoice


def refunds_to_credit(*, order: Order) -> QuerySet[Refund]:
    """Refunds of this order that count and have no credit note yet, oldest first."""
    return Refund.objects.filter(
        order=order, status=Refund.Status.SUCCEEDED, credit_note__isnull=True
    ).order_by("succeeded_at", "id")


def credit_note_issue(*, refund: Refund, now: datetime) -> Invoice | None:
    """The credit note for a refund of an invoiced order; None when the order has no invoice.

    Called in the transaction that makes the refund count; a repeat finds the note and returns it.
    """
    with transaction.atomic():
        Order.objects.select_for_update().filter(pk=refund.order_id).first()
        existing = Invoice.objects.filter(refund=refund).first()
        if existing is not None:
            return existing
        invoice = Invoice.objects.filter(order_id=refund.order_id, kind=Invoice.Kind.INVOICE).first()
        if invoice is None:
            return None
        return _credit_note_write(invoice=invoice, refund=refund, now=now)


def _credit_note_write(*, invoice: Invoice, refund: Refund, now: datetime) -> Invoice:
    # A refund asked for with or after the customer's withdrawal is the withdrawal's refund.
    withdrawn = Withdrawal.objects.filter(
        order_id=invoice.order_id, requested_at__lte=refund.created_at
    ).exists()
    reason = Invoice.Reason.WITHDRAWAL if withdrawn else Invoice.Reason.REFUND
    credited = Invoice.objects.filter(corrects=invoice).aggregate(
        gross=Sum("gross_cents"), vat=Sum("vat_cents")
    )
    credited_gross, credited_vat = -(credited["gross"] or 0), -(credited["vat"] or 0)
    amount = min(refund.amount_cents, invoice.gross_cents - credited_gross)
    if amount <= 0:
        raise InvoiceRefused(_("This invoice has already been credited in full."))
    if credited_gross + amount == invoice.gross_cents:
        vat = invoice.vat_cents - credited_vat  # the last one takes the remainder: zero to the cent
    else:
        vat = vat_included(amount, invoice.vat_rate_bp)
    year, sequence, number = _next_number(kind=Invoice.Kind.CREDIT_NOTE, issued_at=now)
    return Invoice.objects.create(
        kind=Invoice.Kind.CREDIT_NOTE,
        number=number,
        year=year,
        sequence=sequence,
        order_id=invoice.order_id,
        corrects=invoice,
        refund=refund,
        reason=reason,
        issued_at=now,
        language=invoice.language,
        seller_name=invoice.seller_name,
        seller_address=invoice.seller_address,
        seller_vat_id=invoice.seller_vat_id,
        seller_registration=invoice.seller_registration,
        buyer_name=invoice.buyer_name,
        buyer_address=invoice.buyer_address,
        buyer_country=invoice.buyer_country,
        buyer_vat_id=invoice.buyer_vat_id,
        buyer_vat_id_check=invoice.buyer_vat_id_check,
        buyer_email=invoice.buyer_email,
        description=invoice.description,
        quantity=invoice.quantity,
        supplied_at=invoice.supplied_at,
        payment_method=refund.destination,
        paid_at=refund.succeeded_at or refund.created_at,
        currency=invoice.currency,
        vat_rate_bp=invoice.vat_rate_bp,
        list_price_cents=-amount,
        discount_cents=0,
        gross_cents=-amount,
        vat_cents=-vat,
        net_cents=-(amount - vat),
    )


def documents_for_order(*, order: Order) -> list[Invoice]:
    """The order's invoice then its credit notes, in the order they were issued."""
    return list(
        Invoice.objects.filter(order=order).order_by("issued_at", "id").select_related("corrects", "refund")
    )
