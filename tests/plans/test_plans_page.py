from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from plans.services import plans_seed_catalogue
from tests.usage.card_factories import GB, OwnedCardFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.plans.urls_with_checkout")]

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def catalogue():
    with time_machine.travel(NOW, tick=False):
        yield plans_seed_catalogue()


def page(client, query="") -> str:
    response = client.get(reverse("plans:list") + query)
    assert response.status_code == 200
    return response.content.decode().replace("\xa0", " ")


def test_anyone_can_compare_the_plans_side_by_side(client):
    html = page(client)

    for text in [
        "Day Pass",
        "Week Pass",
        "Month Pass",
        "1.0 GB",
        "5.0 GB",
        "20.0 GB",
        "24 hours",
        "7 days",
        "30 days",
    ]:
        assert text in html
    assert "€4.90" in html and "€14.90" in html and "€34.90" in html
    assert "€2.98" in html and "€1.75" in html  # per GB
    assert html.count("Monaco<br>French Riviera<br>Ligurian coast") == 3
    assert "Prices include 20 % VAT" in html


def test_prices_follow_the_customers_language(client, owner):
    owner.language = "fr"
    owner.save()
    client.force_login(owner)

    html = page(client)

    assert "14,90 €" in html
    assert "Pass Semaine" in html


def test_renewing_an_active_card_says_the_remaining_data_carries_over(client, owner):
    card = OwnedCardFactory(
        owner=owner, data_remaining=1_200_000_000, expires_at=datetime(2026, 12, 3, 13, 5, tzinfo=UTC)
    )
    client.force_login(owner)

    html = page(client, f"?card={card.pk}")

    assert "Your 1.2 GB left carries over" in html
    assert "3 Dec 2026, 14:05 (Monaco time, CET)" in html
    # Week Pass: 1.2 + 5 GB, a week added to the current expiry.
    assert "<strong>6.2 GB</strong>, valid until 10 Dec 2026, 14:05 CET" in html
    assert f"?plan=week-5gb&amp;card={card.pk}" in html


def test_renewing_an_expired_card_starts_fresh_now(client, owner):
    card = OwnedCardFactory(owner=owner, data_remaining=2 * GB, expires_at=NOW - timedelta(days=1))
    client.force_login(owner)

    html = page(client, f"?card={card.pk}")

    assert "A new plan starts fresh now" in html
    assert "carries over" not in html
    # Day Pass from now (13:00 in Monaco): 1 GB until tomorrow 13:00; the 2 GB left were forfeited.
    assert "<strong>1.0 GB</strong>, valid until 2 Dec 2026, 13:00 CET" in html


def test_without_a_card_choice_the_first_card_is_shown_and_a_new_esim_can_be_picked(client, owner):
    card = OwnedCardFactory(owner=owner)
    client.force_login(owner)

    assert f"card={card.pk}" in page(client)

    html = page(client, "?card=new")
    assert "You get a new eSIM" in html
    assert "?plan=day-1gb&amp;card=new" in html


def test_every_plan_has_a_choose_button_to_the_checkout(client):
    html = page(client)

    assert html.count(">Choose<") == 3
    assert "/stub-billing/checkout/?plan=month-20gb" in html


def test_coverage_lists_only_the_areas_a_plan_covers(client, catalogue):
    catalogue[0].covers_ligurian_coast = False
    catalogue[0].save()

    html = page(client)

    assert html.count("Monaco<br>French Riviera<br>Ligurian coast") == 2
    assert "Monaco<br>French Riviera\n" in html


def test_plans_no_longer_on_sale_are_not_shown(client, catalogue):
    catalogue[0].is_active = False
    catalogue[0].save()

    assert "Day Pass" not in page(client)


def test_an_outsider_cannot_preview_someone_elses_card(client, owner, outsider):
    card = OwnedCardFactory(owner=owner)
    client.force_login(outsider)

    assert client.get(reverse("plans:list") + f"?card={card.pk}").status_code == 404
    assert client.get(reverse("plans:list") + "?card=abc").status_code == 404
