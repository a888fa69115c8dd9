"""Issue 13 in Chromium on a phone: the forecast, the installable app offline, the renew link."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from billing import renew_links
from plans.services import plans_seed_catalogue
from tests.usage.card_factories import GB, OwnedCardFactory, UsageRecordFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery"
SNAPSHOT_SAVED = """async () => {
  const cache = await caches.open("portal-personal");
  return Boolean(await cache.match("/offline/snapshot.json"));
}"""


@pytest.fixture
def traveller(django_user_model):
    from allauth.account.models import EmailAddress

    user = django_user_model.objects.create_user(
        email="traveller@example.com", password=PASSWORD, name="Léa", language="en"
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    now = timezone.now()
    card = OwnedCardFactory(
        owner=user,
        label="iPhone",
        period_started_at=now - timedelta(days=9),
        period_allowance=10 * GB,
        data_remaining=2_100_000_000,
        expires_at=now + timedelta(days=5, hours=7),
        usage_updated_at=now - timedelta(minutes=20),
    )
    for day in range(1, 9):
        UsageRecordFactory(card=card, start=now - timedelta(days=day, hours=1), bytes=800_000_000)
    plans_seed_catalogue()
    return user


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_the_forecast_reads_in_plain_words_in_english_and_chinese(
    compiled_translations, make_phone_page, login_with_password, screenshot, traveller
):
    page = make_phone_page()
    login_with_password(page, login="traveller@example.com", password=PASSWORD)
    page.goto("/")

    forecast = page.locator("[data-forecast]")
    assert re.search(
        r"At your pace \(≈ \d+\sMB a day\) your data runs out around \w{3} \d+ \w{3}, \d\d:00",
        forecast.inner_text(),
    )
    assert forecast.is_visible()
    _no_sideways_scroll(page)
    screenshot(page, "dashboard-en")

    # As a traveller does: the footer's language list (their saved language follows; the session keeps it).
    page.locator("#language-select").select_option("zh-hans")
    with page.expect_navigation():
        page.get_by_role("button", name="Change language").dispatch_event("click")
    page.goto("/")
    assert "按您目前的用量" in page.locator("[data-forecast]").inner_text()
    _no_sideways_scroll(page)
    screenshot(page, "dashboard-zh")


def test_offline_the_app_opens_on_the_last_known_balance_and_logging_out_forgets_it(
    compiled_translations, make_phone_page, login_with_password, screenshot, traveller, live_server
):
    page = make_phone_page()
    login_with_password(page, login="traveller@example.com", password=PASSWORD)
    page.goto("/")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function(SNAPSHOT_SAVED)
    page.reload()  # now controlled by the service worker
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")

    page.context.set_offline(True)
    # The traveller opens the app again with no connection. (Chromium under Playwright fails the
    # very first goto() to the page already shown; a reload reaches the service worker.)
    page.reload()

    assert page.get_by_role("heading", name="You are offline").is_visible()
    assert page.get_by_text("on Wi-Fi you can renew").is_visible()
    line = page.locator("[data-snapshot-cards] li").first.inner_text()
    assert re.search(
        r"Last known, as of \d\d:\d\d: 2\.1 GB left, valid until \w{3} \d+ \w{3}, \d\d:\d\d \(Monaco time\)",
        line,
    )
    assert "traveller@example.com" not in page.content()
    _no_sideways_scroll(page)
    screenshot(page, "offline")

    # Another page offline: the same offline page, never the browser's error page.
    page.goto(live_server.url + "/account/")
    assert page.get_by_role("heading", name="You are offline").is_visible()

    page.context.set_offline(False)
    page.goto(live_server.url + "/")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/accounts/login/"))
    page.wait_for_function("async () => !(await caches.has('portal-personal'))")

    # Clear-Site-Data unregistered the worker; the login page registers it again, empty.
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.context.set_offline(True)
    page.reload()
    assert page.get_by_role("heading", name="You are offline").is_visible()
    assert page.get_by_text("Nothing is kept on this device while you are logged out").is_visible()
    assert "2.1 GB" not in page.content()
    screenshot(page, "offline-after-logout")
    page.context.set_offline(False)


def test_the_renew_link_opens_that_cards_renew_page_on_a_friends_phone(
    compiled_translations, make_phone_page, screenshot, traveller, live_server
):
    card = traveller.cards.get()
    _link, token = renew_links.renew_link_create(card=card, purpose="card_runout_24h", now=timezone.now())
    page = make_phone_page()

    page.goto(f"{live_server.url}/r/{token}")

    page.wait_for_url(re.compile(r"/renew/$"))
    assert token not in page.url
    assert page.get_by_role("heading", name=re.compile(r"Renew eSIM\s…\u2060\d{6}")).is_visible()
    assert page.get_by_text("2.1 GB").first.is_visible()
    assert page.get_by_role("button", name=re.compile(r"Pay €")).first.is_visible()
    assert "traveller@example.com" not in page.content() and "iPhone" not in page.content()
    _no_sideways_scroll(page)
    screenshot(page, "renew-page")
