"""Issue 12, item 6: on a 390 x 844 phone, in English and 简体中文, numbers never break across lines and a
phone number reads as people write it (+377 6 40 12 34 56): sign-in code page and its message, status
page, receipt, orders list; and (item 8) the plan is named as sold in the page's language."""

import re

import pytest
from django.utils import timezone

from tests.billing.factories import PlanFactory
from tests.usage.card_factories import OwnedCardFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "+377640123456"
SHOWN = "+377 6 40 12 34 56"

# Elements whose text takes more than one line: each line box of their text, told apart by its top.
SPLIT_NUMBERS = """selector => Array.from(document.querySelectorAll(selector)).filter(element => {
    const range = document.createRange();
    range.selectNodeContents(element);
    return new Set(Array.from(range.getClientRects(), rect => Math.round(rect.top))).size > 1;
}).map(element => element.textContent.trim())"""


@pytest.fixture
def phone_traveller(django_user_model):
    # Signed up with a phone only: the receipt's customer is the phone number.
    return django_user_model.objects.create_user(
        email="", phone=PHONE, phone_verified=True, password="correct horse battery", notify_sms=True
    )


@pytest.fixture
def renewed_order(phone_traveller):
    from billing.services import order_create, order_fulfil, order_mark_paid

    card = OwnedCardFactory(owner=phone_traveller, label="", iccid="8937700000000000008")
    now = timezone.now()
    plan = PlanFactory(name="Week Pass")
    plan.name_zh_hans = "一周畅游"
    plan.save()
    order = order_create(user=phone_traveller, plan=plan, card=card, now=now)
    order_mark_paid(order_id=order.pk, paid_at=now, now=now)
    return order_fulfil(order_id=order.pk, now=now)


def _assert_no_number_split(page) -> None:
    assert page.evaluate(SPLIT_NUMBERS, ".number") == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


@pytest.mark.parametrize(
    ("language", "locale"), [("en", "en-GB"), ("zh-hans", "zh-CN")], ids=["en", "zh-hans"]
)
def test_phone_numbers_read_as_people_write_them_and_no_number_breaks(
    compiled_translations,
    make_phone_page,
    screenshot,
    axe_violations,
    phone_traveller,
    renewed_order,
    language,
    locale,
):
    from notices import sms

    phone_traveller.language = language
    phone_traveller.save(update_fields=["language"])
    # bypass_csp: axe-core is injected as a script (tests/fixtures/browser.py).
    page = make_phone_page(locale=locale, bypass_csp=True)
    problems = []

    page.goto("/accounts/login/code/")
    field = page.locator(
        "input[name=phone_number], input[name=phone_1], input[name=phone], input[name=login]"
    ).first
    field.fill("06 40 12 34 56")
    field.press("Enter")
    page.wait_for_url(re.compile(r"/accounts/login/code/confirm/"))
    assert SHOWN in page.locator("main").inner_text()
    assert PHONE not in page.locator("main").inner_text()
    assert SHOWN in page.locator(".messages").inner_text()
    _assert_no_number_split(page)
    problems += axe_violations(page)
    screenshot(page, "code")

    code = re.search(r"\b(\d{6})\b", sms.outbox[-1].body).group(1)
    page.locator("input[name=code]").fill(code)
    page.locator("input[name=code]").press("Enter")
    page.wait_for_url(re.compile(r"/$"))
    page.wait_for_function(f"document.documentElement.lang === '{language}'")

    plan_name = {"en": "Week Pass", "zh-hans": "一周畅游"}[language]
    page.goto(f"/orders/{renewed_order.number}/")
    assert plan_name in page.locator("main").inner_text()
    _assert_no_number_split(page)
    problems += axe_violations(page)
    screenshot(page, "status")

    page.goto(f"/orders/{renewed_order.number}/receipt/")
    receipt = page.locator(".receipt")
    assert receipt.get_by_test_id("plan-name").inner_text() == plan_name
    assert SHOWN in receipt.inner_text()
    assert receipt.locator(".number", has_text=SHOWN).count() == 1
    assert receipt.locator(".number", has_text="8937700000000000008").count() == 1
    _assert_no_number_split(page)
    problems += axe_violations(page)
    screenshot(page, "receipt")

    page.goto("/orders/")
    assert page.locator(".number", has_text=renewed_order.number).count() == 1
    assert plan_name in page.locator("main").inner_text()
    _assert_no_number_split(page)
    problems += axe_violations(page)
    screenshot(page, "orders")
    assert problems == []
