"""axe-core on every customer page, in English and 简体中文, on a 390 x 844 phone: no serious or critical findings."""

from datetime import timedelta

import pytest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery"
GB = 1_000_000_000

ANONYMOUS_PAGES = [
    ("account_login", {}),
    ("account_signup", {}),
    ("account_request_login_code", {}),
    ("account_reset_password", {}),
    ("plans:list", {}),
    ("usage:help", {}),
]
CUSTOMER_PAGES = [
    ("usage:dashboard", {}),
    ("plans:list", {}),
    ("usage:card_detail", {"card_id": "card"}),
    ("usage:card_esim", {"card_id": "card"}),
    ("usage:card_claim", {}),
    ("billing:orders", {}),
    ("billing:wallet", {}),
    ("billing:auto_renew", {"card_id": "card"}),
    ("accounts:profile", {}),
    ("support:ticket_list", {}),
    ("support:ticket_new", {}),
]


@pytest.fixture
def traveller(django_user_model):
    from allauth.account.models import EmailAddress

    from tests.usage.card_factories import OwnedCardFactory, UsageRecordFactory

    user = django_user_model.objects.create_user(
        email="traveller@example.com", password=PASSWORD, name="Léa", language="en"
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    now = timezone.now()
    card = OwnedCardFactory(
        owner=user,
        label="iPhone",
        period_allowance=5 * GB,
        data_remaining=1_240_000_000,
        expires_at=now + timedelta(days=2, hours=4),
        usage_updated_at=now - timedelta(minutes=35),
    )
    for day in range(13):
        UsageRecordFactory(
            card=card, start=now - timedelta(days=day, hours=2), bytes=(day % 5 + 1) * 90_000_000
        )
    return user, card


def _urls(pages, card=None) -> list[str]:
    urls = []
    for name, kwargs in pages:
        kwargs = {key: card.pk if value == "card" else value for key, value in kwargs.items()}
        try:
            urls.append(reverse(name, kwargs=kwargs))
        except NoReverseMatch:
            continue  # a page another issue has not built yet
    return urls


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_customer_pages_have_no_serious_accessibility_problems(
    compiled_translations, make_phone_page, login_with_password, axe_violations, traveller, language
):
    user, card = traveller
    user.language = language
    user.save(update_fields=["language"])
    page = make_phone_page(locale="zh-CN" if language == "zh-hans" else "en-GB", bypass_csp=True)
    problems = []

    for url in _urls(ANONYMOUS_PAGES):
        page.goto(url)
        problems += axe_violations(page)
    login_with_password(page, login=user.email, password=PASSWORD)
    visited = _urls(CUSTOMER_PAGES, card)
    for url in visited:
        response = page.goto(url)
        assert response.ok, f"{url} answered {response.status}"
        assert page.locator("html").get_attribute("lang") == language
        problems += axe_violations(page)

    assert len(visited) >= 3, "the customer pages should exist"
    assert not problems, "\n".join(problems)


def test_the_checker_reports_an_unlabelled_field_and_an_image_without_text(make_phone_page, axe_violations):
    page = make_phone_page(bypass_csp=True)
    page.set_content('<html lang="en"><body><main><input type="text"><img src="x.png"></main></body></html>')

    problems = axe_violations(page)

    assert any(" label:" in problem for problem in problems)
    assert any(" image-alt:" in problem for problem in problems)
