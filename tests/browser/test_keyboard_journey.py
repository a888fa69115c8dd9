"""The whole renewal journey with the keyboard alone, on a phone-sized page, with a visible focus ring."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery"
GB = 1_000_000_000


@pytest.fixture
def traveller(django_user_model):
    from allauth.account.models import EmailAddress

    from plans.services import plans_seed_catalogue
    from tests.usage.card_factories import OwnedCardFactory

    user = django_user_model.objects.create_user(
        email="traveller@example.com", password=PASSWORD, language="en"
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    now = timezone.now()
    card = OwnedCardFactory(
        owner=user,
        label="iPhone",
        period_allowance=5 * GB,
        data_remaining=800_000_000,
        expires_at=now + timedelta(hours=30),
        usage_updated_at=now - timedelta(minutes=10),
    )
    plans_seed_catalogue()
    return user, card


def _tab_to(page, target, *, limit: int = 60) -> None:
    """Press Tab until the target has the focus; fail if it never does."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            outline = target.evaluate("element => getComputedStyle(element).outlineStyle")
            assert outline != "none", "the focused element shows a focus ring"
            return
    raise AssertionError(f"{target} cannot be reached with the Tab key")


def test_a_traveller_renews_a_card_with_the_keyboard_alone(phone_page, traveller):
    user, card = traveller
    page = phone_page
    page.goto("/accounts/login/")

    _tab_to(page, page.locator(".skip-link"))
    _tab_to(page, page.locator("input[name=login]"))
    page.keyboard.type(user.email)
    _tab_to(page, page.locator("input[name=password]"))
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/$"))

    _tab_to(page, page.get_by_role("link", name="Renew").first)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/plans/\?card={card.pk}$"))

    _tab_to(page, page.locator("main tfoot a.btn").first)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/checkout/"))

    _tab_to(page, page.get_by_label(re.compile(r"^I ask for my plan to start now")))
    page.keyboard.press("Space")
    _tab_to(page, page.get_by_role("button", name=re.compile(r"^Pay ")))
    page.keyboard.press("Enter")
    page.wait_for_load_state("domcontentloaded")

    _tab_to(page, page.get_by_role("button", name=re.compile(r"^Pay .*\(demo\)")))
    page.keyboard.press("Enter")

    page.wait_for_url(re.compile(r"/orders/MC-"))
    page.locator(".badge-done").wait_for()
    card.refresh_from_db()
    assert card.data_remaining > 800_000_000, "the renewal added data"


def test_the_language_picker_waits_for_its_button_when_used_with_the_keyboard(
    phone_page, compiled_translations, db
):
    page = phone_page
    page.goto("/accounts/login/")
    picker = page.locator("#language-select")

    _tab_to(page, picker)
    page.keyboard.press("ArrowDown")
    page.wait_for_timeout(300)
    assert page.locator("html").get_attribute("lang") == "en", "arrow keys alone do not reload the page"

    button = page.locator(".lang-submit")
    _tab_to(page, button)
    assert button.bounding_box()["width"] > 10, "the button shows itself when it has the focus"
    page.keyboard.press("Enter")
    expect(page.locator("html")).not_to_have_attribute("lang", "en")
