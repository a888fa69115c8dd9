"""Issue 12, item 3: the eSIM page's manual-entry values on a 390 x 844 phone, in English and 简体中文:
each value on one line (never split mid-string), each with a Copy button that fills the clipboard and
says "Copied" where a screen reader hears it."""

import re

import pytest
from playwright.sync_api import expect

from tests.usage.card_factories import OwnedCardFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery"
SMDP = "smdp.demo.monaco-data.example"
MATCHING_ID = "DEMO-TRAVELLER-0001"

# How many lines the text of an element takes: its text's line boxes, told apart by their top edge.
LINES_OF_TEXT = """element => {
    const range = document.createRange();
    range.selectNodeContents(element);
    return new Set(Array.from(range.getClientRects(), rect => Math.round(rect.top))).size;
}"""


@pytest.fixture
def traveller(django_user_model):
    from allauth.account.models import EmailAddress

    user = django_user_model.objects.create_user(
        email="traveller@example.com", password=PASSWORD, name="Léa", language="en"
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    card = OwnedCardFactory(owner=user, label="", activation_code=f"LPA:1${SMDP}${MATCHING_ID}")
    return user, card


@pytest.mark.parametrize(
    ("language", "locale", "copy", "copied"),
    [("en", "en-GB", "Copy", "Copied"), ("zh-hans", "zh-CN", "复制", "已复制")],
    ids=["en", "zh-hans"],
)
def test_each_value_stays_on_one_line_and_its_copy_button_fills_the_clipboard(
    compiled_translations,
    make_phone_page,
    login_with_password,
    screenshot,
    live_server,
    traveller,
    language,
    locale,
    copy,
    copied,
):
    user, card = traveller
    user.language = language
    user.save(update_fields=["language"])
    page = make_phone_page(locale=locale)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    login_with_password(page, login=user.email, password=PASSWORD)

    page.goto(f"/cards/{card.pk}/esim/")
    page.wait_for_function(f"document.documentElement.lang === '{language}'")
    values = {"smdp-address": SMDP, "matching-id": MATCHING_ID}
    for testid, text in values.items():
        value = page.get_by_test_id(testid)
        assert value.inner_text() == text
        assert value.evaluate(LINES_OF_TEXT) == 1, f"{text} is split across lines"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page)

    buttons = page.locator("button[data-copy]")
    assert buttons.count() == 2
    for index, text in enumerate(values.values()):
        button = buttons.nth(index)
        assert button.is_visible()
        assert button.inner_text().startswith(copy)
        button.click()
        # The label changes once the clipboard took the value (the status may still hold the last one).
        expect(button.locator("[data-copy-label]")).to_have_text(copied)
        status = page.locator("[data-copy-status]")
        status.filter(has_text=copied).wait_for()
        assert status.get_attribute("role") == "status"
        assert page.evaluate("navigator.clipboard.readText()") == text
    page.get_by_role("heading", name=re.compile("enter it by hand|手动")).scroll_into_view_if_needed()
    screenshot(page, "copied", full_page=False)


def test_the_copy_buttons_stay_hidden_without_javascript(
    browser, live_server, login_with_password, traveller
):
    # Progressive enhancement: without the script, no button that does nothing; the values are still there.
    user, card = traveller
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 390, "height": 844}, base_url=live_server.url
    )
    page = context.new_page()
    login_with_password(page, login=user.email, password=PASSWORD)
    page.goto(f"/cards/{card.pk}/esim/")
    assert page.get_by_test_id("smdp-address").inner_text() == SMDP
    assert page.locator("button[data-copy]").count() == 2
    assert not page.locator("button[data-copy]").first.is_visible()
    assert re.search(r"copy\.js", page.content())
    context.close()
