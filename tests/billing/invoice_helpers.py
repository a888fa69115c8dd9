"""Paid orders, buyers and PDF readers for the invoice, credit-note and withdrawal tests."""

import io
import shutil
import subprocess
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from pypdf import PdfReader

from billing.invoicing import Buyer, invoice_issue
from billing.models import Invoice, Order
from billing.services import order_create, order_mark_paid

CHINESE_COMPANY = "上海蓝海旅行科技有限公司"
CHINESE_ADDRESS = "上海市浦东新区世纪大道 100 号 25 楼\n200120 上海"
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"


def paid_order(
    *, user, card, plan, now=None, payment_intent: str | None = None, method: str = "card"
) -> Order:
    """An order paid (as Stripe or the demo would report it) and renewed by the eager worker."""
    now = now or timezone.now()
    order = order_create(user=user, plan=plan, card=card, now=now)
    order_mark_paid(
        order_id=order.pk, paid_at=now, now=now, payment_intent_id=payment_intent, payment_method_type=method
    )
    order.refresh_from_db()
    return order


def chinese_buyer(**overrides) -> Buyer:
    return Buyer(**{"name": CHINESE_COMPANY, "address": CHINESE_ADDRESS, "country": "CN", **overrides})


def issue(order: Order, *, now=None, language: str = "zh-hans", buyer: Buyer | None = None) -> Invoice:
    return invoice_issue(
        order=order, buyer=buyer or chinese_buyer(), language=language, now=now or timezone.now()
    )


def pdf_text(content: bytes) -> str:
    """The text of every page as pypdf extracts it, all whitespace removed: pypdf puts a space
    between the glyphs of the embedded CJK font (poppler's pdftotext reads the same file without)."""
    reader = PdfReader(io.BytesIO(content))
    return "".join("".join(page.extract_text().split()) for page in reader.pages)


def render_first_page(content: bytes, name: str) -> Path | None:
    """The first page as PNG under var/screenshots/ (pdftoppm, from poppler-utils), for a person to look at."""
    if shutil.which("pdftoppm") is None:
        return None
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    source = SCREENSHOTS / f"{name}.pdf"
    source.write_bytes(content)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "80",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(source),
            str(SCREENSHOTS / name),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    source.unlink()
    return SCREENSHOTS / f"{name}.png"
