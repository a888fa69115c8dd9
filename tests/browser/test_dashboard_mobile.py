"""Issue 3: the dashboard on a 390 x 844 phone, in English and 简体中文, with screenshots as artefacts."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from plans.services import plans_seed_catalogue
from tests.usage.card_factories import GB, OwnedCardFactory, UsageRecordFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery"
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def traveller(django_user_model):
    from allauth.account.models import EmailAddress

    user = django_user_model.objects.create_user(
        email="traveller@example.com", password=PASSWORD, name="Léa", language="en"
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    now = timezone.now()
    active = OwnedCardFactory(
        owner=user,
        label="iPhone",
        period_allowance=5 * GB,
        data_remaining=1_240_000_000,
        expires_at=now + timedelta(days=2, hours=4, minutes=10),
        usage_updated_at=now - timedelta(minutes=35),
    )
    for day in range(13):
        UsageRecordFactory(
            card=active, start=now - timedelta(days=day, hours=2), bytes=(day % 5 + 1) * 90_000_000
        )
    OwnedCardFactory(owner=user, data_remaining=2 * GB, expires_at=now - timedelta(hours=5))
    plans_seed_catalogue()
    return user


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_the_dashboard_reads_well_on_a_phone_in_english_and_chinese(
    compiled_translations, make_phone_page, login_with_password, screenshot, traveller
):
    page = make_phone_page()
    login_with_password(page, login="traveller@example.com", password=PASSWORD)
    page.goto("/")

    assert page.get_by_role("heading", name="Your data cards").is_visible()
    assert page.locator(".badge", has_text="Expiring soon").is_visible()
    assert page.locator(".badge", has_text="Expired").is_visible()
    assert page.get_by_text("1.2 GB").first.is_visible()
    assert page.get_by_text(re.compile(r"\(Monaco time, CES?T\)")).first.is_visible()
    assert page.get_by_text("in 2 days, 4 hours").is_visible()
    assert page.get_by_text("Usage updated 35 minutes ago").first.is_visible()
    assert page.locator("meter").first.is_visible()
    assert page.get_by_role("img", name="Daily data use over the last 14 days").is_visible()
    assert page.get_by_role("link", name="Renew").count() == 2
    _no_sideways_scroll(page)
    screenshot(page, "en")

    page.get_by_role("link", name="Renew").first.click()
    page.wait_for_url(re.compile(r"/plans/\?card=\d+"))
    assert page.get_by_text("Your 1.2 GB left carries over").is_visible()
    _no_sideways_scroll(page)
    screenshot(page, "plans-en")

    page.goto("/")
    page.get_by_role("link", name="Install eSIM").first.click()
    assert page.locator("svg.qr-code").is_visible()
    _no_sideways_scroll(page)
    screenshot(page, "esim-en")

    # As a traveller does: the footer's language list (their saved language follows; the session keeps it).
    page.locator("#language-select").select_option("zh-hans")
    with page.expect_navigation():
        page.get_by_role("button", name="Change language").dispatch_event("click")
    page.goto("/")
    page.wait_for_function("document.documentElement.lang === 'zh-hans'")
    assert CJK.search(page.locator("body").inner_text())
    assert page.locator("meter").first.is_visible()
    _no_sideways_scroll(page)
    screenshot(page, "zh-hans")


def test_a_traveller_without_a_card_adds_the_one_they_bought_from_the_empty_dashboard(
    make_phone_page, login_with_password, screenshot, django_user_model
):
    from allauth.account.models import EmailAddress

    from tests.usage.card_factories import InventoryCardFactory

    user = django_user_model.objects.create_user(email="new@example.com", password=PASSWORD, language="en")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    card = InventoryCardFactory(claim_code="K7QX9P")
    page = make_phone_page()
    login_with_password(page, login="new@example.com", password=PASSWORD)
    page.goto("/")

    assert page.get_by_role("heading", name="No data card yet").is_visible()
    _no_sideways_scroll(page)
    screenshot(page, "empty")

    page.get_by_role("link", name="Add a card I have").click()
    page.get_by_label("ICCID").fill(" ".join(card.iccid[i : i + 4] for i in range(0, len(card.iccid), 4)))
    page.get_by_label("Claim code").fill("WRONG1")
    page.get_by_role("button", name="Add card").click()
    assert page.get_by_role("alert").inner_text().startswith("We could not add this card.")
    _no_sideways_scroll(page)
    screenshot(page, "claim-error")

    page.get_by_label("Claim code").fill("k7qx9p")
    page.get_by_role("button", name="Add card").click()
    page.wait_for_url(re.compile(r"/cards/\d+/$"))
    assert page.get_by_text(f"Card {card.iccid} is now in your account.").is_visible()
    _no_sideways_scroll(page)
    screenshot(page, "card-detail")
