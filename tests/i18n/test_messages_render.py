"""Every email and text message template renders in Simplified Chinese, French and Italian."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

TEMPLATES = Path(settings.BASE_DIR, "templates")
MESSAGE_TEMPLATES = sorted(
    str(path.relative_to(TEMPLATES))
    for folder in ("emails", "sms")
    for path in (TEMPLATES / folder).glob("*.*")
    if not path.name.startswith(("base.", "_"))
)
CJK = re.compile(r"[\u4e00-\u9fff]")
# A plausible context for any notice; templates ignore what they do not use.
CONTEXT = {
    "site_name": "Monaco Data",
    "site_url": "https://portal.example",
    "card_name": "iPhone",
    "plan_name": "Week Pass",
    "percent_used": 75,
    "data_remaining": 1_200_000_000,
    "remaining": "1.2 GB",
    "remaining_time": "in 23 hours",
    "expiry": "27 Nov 2026, 22:50 (Monaco time, CET)",
    "renew_url": "https://portal.example/plans/?card=1",
    "pay_url": "https://portal.example/plans/?card=1",
    "receipt_url": "https://portal.example/orders/MC-2026-000001/receipt/",
    "order_number": "MC-2026-000001",
    "amount": "€14.90",
    "data": "6.2 GB",
    "data_added": "5.0 GB",
    "code": "123456",
    "ticket_id": 7,
    "reason": "declined",
    "expires_at": "2026-11-27T21:50:00+00:00",
    "data_remaining_bytes": 6_200_000_000,
    "data_added_bytes": 5_000_000_000,
    "paid_cents": 1490,
    "amount_cents": 1490,
    "to_wallet": False,
    "data_taken_bytes": 5_000_000_000,
    "wallet_cents": 0,
    "currency": "EUR",
    "payment_method": "card",
    "iccid": "8937700000005000003",
}


def _render(name: str, language: str) -> str:
    with translation.override(language):
        return render_to_string(name, CONTEXT)


@pytest.mark.usefixtures("compiled_translations", "db")
@pytest.mark.parametrize("name", MESSAGE_TEMPLATES)
def test_each_message_is_written_in_the_customers_language(name):
    english = _render(name, "en")
    assert english.strip(), f"{name} renders nothing"

    for language in ("zh-hans", "fr", "it"):
        translated = _render(name, language)
        assert translated != english, f"{name} is still in English for {language}"
        if language == "zh-hans":
            assert CJK.search(translated), f"{name} has no Chinese text"


def test_every_notice_template_is_checked():
    assert len(MESSAGE_TEMPLATES) >= 10
