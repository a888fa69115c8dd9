"""Pages work on a slow link: a light dashboard, and nothing fetched from another host."""

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.urls import reverse

from tests.support.factories import OrderFactory, PlanFactory
from tests.usage.card_factories import OwnedCardFactory, UsageRecordFactory

pytestmark = pytest.mark.django_db

BUDGET_BYTES = 100 * 1024
# Where a customer may be sent by a link or a form; the browser fetches nothing from them by itself.
NAVIGATION_HOSTS = {"checkout.stripe.com", "esimsetup.apple.com"}
CSS_URL = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])([^'")\s]+)""")


class References(HTMLParser):
    """Every URL a page makes the browser fetch, and every URL it only links to."""

    def __init__(self):
        super().__init__()
        self.resources: list[str] = []
        self.navigations: list[str] = []
        self.stylesheets: list[str] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("src", "poster", "data"):
            if attrs.get(name):
                self.resources.append(attrs[name])
        for candidate in (attrs.get("srcset") or "").split(","):
            if candidate.strip():
                self.resources.append(candidate.split()[0])
        if tag == "script" and attrs.get("src"):
            self.scripts.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.resources.append(attrs["href"])
            if "stylesheet" in (attrs.get("rel") or "").split():
                self.stylesheets.append(attrs["href"])
        if tag in {"a", "area"} and attrs.get("href"):
            self.navigations.append(attrs["href"])
        if tag == "form" and attrs.get("action"):
            self.navigations.append(attrs["action"])
        if tag == "style" or attrs.get("style"):
            self.resources.extend(CSS_URL.findall(attrs.get("style") or ""))


def references(html: str) -> References:
    parser = References()
    parser.feed(html)
    return parser


def is_other_origin(url: str) -> bool:
    parts = urlsplit(url)
    return url.startswith("//") or (parts.scheme in {"http", "https"} and parts.hostname != "testserver")


def static_file(url: str):
    assert url.startswith(settings.STATIC_URL), f"{url} is not a static file of the portal"
    path = finders.find(urlsplit(url).path.removeprefix(settings.STATIC_URL))
    assert path, f"{url} is referenced but not found by the staticfiles finders"
    return path


@pytest.fixture
def customer_with_three_cards(owner):
    cards = [OwnedCardFactory(owner=owner) for _ in range(3)]
    for card in cards:
        UsageRecordFactory.create_batch(20, card=card)
    return owner, cards


def test_the_dashboard_with_three_cards_weighs_under_100_kb_with_its_css_and_js(
    client, customer_with_three_cards
):
    owner, _cards = customer_with_three_cards
    client.force_login(owner)
    response = client.get(reverse("usage:dashboard"))
    assert response.status_code == 200
    html = response.content
    page = references(html.decode())
    assert page.stylesheets, "the dashboard links no stylesheet: the test would measure nothing"
    assert page.scripts, "the dashboard loads no script: the test would measure nothing"

    sizes = {"HTML": len(html)}
    for url in page.stylesheets + page.scripts:
        assert not is_other_origin(url)
        with open(static_file(url), "rb") as asset:
            sizes[url] = len(asset.read())

    total = sum(sizes.values())
    listing = ", ".join(f"{name} {size:,} B" for name, size in sizes.items())
    assert total < BUDGET_BYTES, f"{total:,} bytes ({listing}) exceed {BUDGET_BYTES:,}"


def customer_pages(client, owner, cards) -> dict[str, str]:
    card = cards[0]
    PlanFactory()
    order = OrderFactory(customer=owner, card=card)
    urls = {
        "dashboard": reverse("usage:dashboard"),
        "card detail": reverse("usage:card_detail", args=[card.pk]),
        "eSIM install": reverse("usage:card_esim", args=[card.pk]),
        "add a card": reverse("usage:card_claim"),
        "help": reverse("usage:help"),
        "plans": reverse("plans:list"),
        "orders": reverse("billing:orders"),
        "order status": reverse("billing:order_status", args=[order.number]),
        "receipt": reverse("billing:receipt", args=[order.number]),
        "wallet": reverse("billing:wallet"),
        "auto-renew": reverse("billing:auto_renew", args=[card.pk]),
        "profile": reverse("accounts:profile"),
        "support": reverse("support:ticket_list"),
        "new support request": reverse("support:ticket_new"),
    }
    pages = {}
    anonymous = {"login": reverse("account_login"), "signup": reverse("account_signup")}
    for name, url in anonymous.items():
        response = client.get(url)
        assert response.status_code == 200, f"{name} ({url}) answered {response.status_code}"
        pages[name] = response.content.decode()
    client.force_login(owner)
    for name, url in urls.items():
        response = client.get(url)
        assert response.status_code == 200, f"{name} ({url}) answered {response.status_code}"
        pages[name] = response.content.decode()
    return pages


def test_no_customer_page_makes_the_browser_fetch_anything_from_another_host(
    client, customer_with_three_cards
):
    owner, cards = customer_with_three_cards
    pages = customer_pages(client, owner, cards)

    fetched_elsewhere = {
        name: [url for url in references(html).resources if is_other_origin(url)]
        for name, html in pages.items()
    }
    assert {name: urls for name, urls in fetched_elsewhere.items() if urls} == {}

    linked_elsewhere = {
        name: [
            url
            for url in references(html).navigations
            if is_other_origin(url) and urlsplit(url).hostname not in NAVIGATION_HOSTS
        ]
        for name, html in pages.items()
    }
    assert {name: urls for name, urls in linked_elsewhere.items() if urls} == {}


def test_the_portal_stylesheets_and_scripts_pull_nothing_from_another_host(client, owner):
    client.force_login(owner)
    page = references(client.get(reverse("usage:dashboard")).content.decode())
    for url in page.stylesheets:
        with open(static_file(url), encoding="utf-8") as stylesheet:
            imported = [ref for ref in CSS_URL.findall(stylesheet.read()) if is_other_origin(ref)]
        assert imported == [], f"{url} fetches {imported}"
    for url in page.scripts:
        with open(static_file(url), encoding="utf-8") as script:
            source = script.read()
        remote = re.findall(r"""(?:fetch|import|importScripts)\(\s*['"](https?:)?//[^'"]+""", source)
        assert remote == [], f"{url} fetches from another host"


def test_a_third_party_resource_would_be_caught():
    page = references(
        '<link rel="stylesheet" href="https://fonts.example.com/a.css">'
        '<img src="//cdn.example.net/x.png"><a href="https://checkout.stripe.com/c/pay/cs_1">Pay</a>'
    )
    assert [url for url in page.resources if is_other_origin(url)] == [
        "https://fonts.example.com/a.css",
        "//cdn.example.net/x.png",
    ]
    assert page.navigations == ["https://checkout.stripe.com/c/pay/cs_1"]
