from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from billing.documents import invoice_pdf
from billing.invoicing import invoice_description, seller
from billing.models import Invoice, Order, Refund
from portal.lib.money import vat_included
from portal.lib.units import BYTES_PER_GB as GB
from usage.models import Card


def sample_documents(*, language: str) -> tuple[Invoice, Invoice]:
    """An invoice and the credit note for a partial refund of it, never saved: no number is used."""
    paid_at = timezone.now().replace(microsecond=0) - timedelta(days=2)
    order = Order(
        number=f"MC-{paid_at.year}-000123",
        customer_email="li.wei@example.com",
        plan_code="week",
        plan_name="Week 5 GB",
        plan_period="week",
        plan_duration_seconds=7 * 86400,
        plan_data_bytes=5 * GB,
        list_price_cents=1490,
        discount_cents=0,
        wallet_applied_cents=0,
        amount_charged_cents=1490,
        vat_rate_bp=2000,
        currency="EUR",
        payment_method_type="alipay",
        paid_at=paid_at,
    )
    order.card = Card(iccid="8937701234567890128")
    issuer = seller()
    gross = order.paid_cents
    vat = vat_included(gross, order.vat_rate_bp)
    common = {
        "order": order,
        "language": language,
        "seller_name": issuer.name,
        "seller_address": issuer.address or "1 avenue de la Costa\n98000 Monaco",
        "seller_vat_id": issuer.vat_id or "FR00000000000",
        "seller_registration": issuer.registration,
        "buyer_name": "上海蓝海旅行科技有限公司",
        "buyer_address": "上海市浦东新区世纪大道 100 号 25 楼\n200120 上海",
        "buyer_country": "CN",
        "description": invoice_description(order, language),
        "supplied_at": paid_at,
        "currency": "EUR",
        "vat_rate_bp": 2000,
    }
    year = paid_at.year
    invoice = Invoice(
        kind=Invoice.Kind.INVOICE,
        number=f"F-{year}-000001",
        year=year,
        sequence=1,
        issued_at=paid_at + timedelta(hours=1),
        payment_method="alipay",
        paid_at=paid_at,
        list_price_cents=1490,
        discount_cents=0,
        gross_cents=gross,
        vat_cents=vat,
        net_cents=gross - vat,
        **common,
    )
    refunded = 745
    refund = Refund(order=order, amount_cents=refunded, destination=Refund.Destination.ORIGINAL_METHOD)
    refund_vat = vat_included(refunded, order.vat_rate_bp)
    credit_note = Invoice(
        kind=Invoice.Kind.CREDIT_NOTE,
        number=f"AV-{year}-000001",
        year=year,
        sequence=1,
        corrects=invoice,
        refund=refund,
        reason=Invoice.Reason.REFUND,
        issued_at=paid_at + timedelta(days=1),
        payment_method=Refund.Destination.ORIGINAL_METHOD,
        paid_at=paid_at + timedelta(days=1),
        list_price_cents=-refunded,
        discount_cents=0,
        gross_cents=-refunded,
        vat_cents=-refund_vat,
        net_cents=-(refunded - refund_vat),
        **common,
    )
    return invoice, credit_note


class Command(BaseCommand):
    help = (
        "Write a sample invoice and credit note (marked SPECIMEN, for a Chinese company) as PDF, "
        "to check how they print. Nothing is saved and no number is used."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--language",
            default="zh-hans",
            choices=[code for code, _name in settings.LANGUAGES],
            help="The customer's language (labels are also printed in French).",
        )
        parser.add_argument(
            "--output-dir",
            default=str(Path(settings.VAR_DIR) / "samples"),
            help="Where to write the two PDFs.",
        )

    def handle(self, *, language, output_dir, **options):
        target = Path(output_dir)
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CommandError(f"Cannot create {target}: {error}") from error
        invoice, credit_note = sample_documents(language=language)
        for name, document in (("invoice-sample.pdf", invoice), ("credit-note-sample.pdf", credit_note)):
            path = target / name
            path.write_bytes(invoice_pdf(document, specimen=True))
            self.stdout.write(f"Wrote {path}")
