"""Issue 2: a traveller logs in by phone on a 390 x 844 phone and sees the dashboard in English and 简体中文."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CJK = re.compile(r"[\u4e00-\u9fff]")
PASSWORD = "correct horse battery"


@pytest.fixture
def make_traveller(django_user_model):
    from allauth.account.models import EmailAddress

    def make(*, language: str):
        user = django_user_model.objects.create_user(
            email="traveller@example.com",
            phone="+377612345678",
            phone_verified=True,
            password=PASSWORD,
            name="Léa",
            language=language,
        )
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        return user

    return make


def _assert_on_dashboard(page) -> None:
    page.wait_for_url(re.compile(re.escape(reverse("usage:dashboard")) + r"$"))
    assert page.locator("h1").first.is_visible()
    # Nothing may stick out sideways on a phone: horizontal scrolling is a layout bug.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def _switch_language(page, code: str) -> None:
    # A tap on the picker, then a choice: the page reloads in that language.
    page.locator("#language-select").tap()
    page.select_option("#language-select", code)
    expect(page.locator("html")).to_have_attribute("lang", code)


def test_a_traveller_logs_in_with_a_phone_number_and_sees_the_dashboard_in_english_and_chinese(
    compiled_translations, phone_page, login_with_password, screenshot, make_traveller
):
    traveller = make_traveller(language="en")
    # Typed the way travellers type it, with spaces; the portal stores +377612345678.
    login_with_password(phone_page, login="+377 6 12 34 56 78", password=PASSWORD)

    _assert_on_dashboard(phone_page)
    assert phone_page.locator("html").get_attribute("lang") == "en"
    assert phone_page.get_by_role("link", name="Dashboard").get_attribute("aria-current") == "page"
    screenshot(phone_page, "en")

    _switch_language(phone_page, "zh-hans")

    _assert_on_dashboard(phone_page)
    assert phone_page.get_by_role("link", name="首页").is_visible()
    assert CJK.search(phone_page.locator("h1").first.inner_text()), "the dashboard heading is in Chinese"
    screenshot(phone_page, "zh-hans")
    traveller.refresh_from_db()
    assert traveller.language == "zh-hans", "the choice is saved for the next visit"


def test_a_traveller_who_chose_chinese_logs_in_with_an_sms_code_and_reads_the_dashboard_in_chinese(
    compiled_translations, make_phone_page, login_with_sms_code, screenshot, make_traveller
):
    make_traveller(language="zh-hans")
    # An English browser: the traveller's saved choice wins over Accept-Language.
    page = make_phone_page(locale="en-GB")

    login_with_sms_code(page, phone="+377 6 12 34 56 78")

    _assert_on_dashboard(page)
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert CJK.search(page.locator("h1").first.inner_text())
    screenshot(page, "zh-hans")
