"""Pages work on a slow link: nothing from other hosts, and the dashboard weighs under 100 KB."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery"
GB = 1_000_000_000


@pytest.fixture
def traveller_with_three_cards(django_user_model):
    from allauth.account.models import EmailAddress

    from tests.usage.card_factories import OwnedCardFactory, UsageRecordFactory

    user = django_user_model.objects.create_user(
        email="traveller@example.com", password=PASSWORD, language="en"
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    now = timezone.now()
    for number in range(3):
        card = OwnedCardFactory(
            owner=user,
            label=f"Phone {number + 1}",
            period_allowance=5 * GB,
            data_remaining=(number + 1) * 900_000_000,
            expires_at=now + timedelta(days=number + 1),
            usage_updated_at=now - timedelta(minutes=20),
        )
        for day in range(14):
            UsageRecordFactory(
                card=card, start=now - timedelta(days=day, hours=1), bytes=(day % 4 + 1) * 80_000_000
            )
    return user


def test_the_dashboard_loads_nothing_from_other_hosts_and_weighs_under_100_kb(
    live_server, phone_page, login_with_password, traveller_with_three_cards
):
    login_with_password(phone_page, login=traveller_with_three_cards.email, password=PASSWORD)
    hosts, sizes = set(), {}
    phone_page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    phone_page.on("response", lambda response: sizes.__setitem__(response.url, len(response.body())))

    phone_page.goto(reverse("usage:dashboard"))
    phone_page.wait_for_load_state("networkidle")

    assert phone_page.locator("h1").first.is_visible()
    assert hosts == {urlsplit(live_server.url).netloc}
    assert any(url.endswith(".css") for url in sizes), "the stylesheet was loaded"
    total = sum(sizes.values())
    assert total < 100_000, f"{total} bytes: " + ", ".join(f"{url} {size}" for url, size in sizes.items())


def test_public_pages_load_nothing_from_other_hosts(live_server, phone_page, db):
    hosts = set()
    phone_page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))

    for name in ("account_login", "account_signup", "plans:list", "usage:help"):
        phone_page.goto(reverse(name))
        phone_page.wait_for_load_state("networkidle")

    assert hosts == {urlsplit(live_server.url).netloc}
