import re

import pytest
from django.urls import reverse

from tests.usage.card_factories import OwnedCardFactory, UsageRecordFactory
from usage.models import Card

pytestmark = pytest.mark.django_db


@pytest.fixture
def card(owner):
    return OwnedCardFactory(owner=owner, activation_code="LPA:1$smdp.example.net$K2-1A2B3C-XYZ")


def card_urls(card: Card) -> list[str]:
    return [
        reverse("usage:card_detail", args=[card.pk]),
        reverse("usage:card_esim", args=[card.pk]),
        reverse("plans:list") + f"?card={card.pk}",
    ]


def test_an_outsider_gets_404_on_every_url_of_someone_elses_card(client, card, outsider):
    UsageRecordFactory(card=card)
    client.force_login(outsider)

    for url in card_urls(card):
        assert client.get(url).status_code == 404, url


def test_a_missing_card_and_someone_elses_card_look_the_same(client, card, outsider):
    client.force_login(outsider)
    missing = reverse("usage:card_detail", args=[card.pk + 1000])

    assert client.get(missing).status_code == 404
    assert client.get(reverse("usage:card_detail", args=[card.pk])).status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client, card):
    for url in card_urls(card)[:2]:
        response = client.get(url)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


def test_the_owner_sees_each_card_page(client, card, owner):
    client.force_login(owner)
    for url in card_urls(card):
        assert client.get(url).status_code == 200, url


def test_the_esim_page_shows_the_qr_code_as_inline_svg_without_inline_styles(client, card, owner):
    client.force_login(owner)

    body = client.get(reverse("usage:card_esim", args=[card.pk])).content.decode()

    svg = re.search(r"<svg[^>]*class=\"qr-code\".*?</svg>", body, re.S)
    assert svg is not None
    assert "<path" in svg.group(0)
    assert "style=" not in body
    assert "<script>" not in body


def test_the_esim_page_gives_the_smdp_address_and_matching_id_for_manual_entry(client, card, owner):
    client.force_login(owner)

    body = client.get(reverse("usage:card_esim", args=[card.pk])).content.decode()

    assert re.search(r"<code[^>]*>smdp\.example\.net</code>", body)
    assert re.search(r"<code[^>]*>K2-1A2B3C-XYZ</code>", body)
    assert "iPhone" in body
    assert "Android" in body
    assert "Add eSIM" in body
    assert "esim_qrcode_provisioning?carddata=LPA%3A1%24smdp.example.net%24K2-1A2B3C-XYZ" in body


def test_a_physical_sim_has_nothing_to_install(client, owner):
    sim = OwnedCardFactory(owner=owner, kind=Card.Kind.SIM, activation_code="")
    client.force_login(owner)

    body = client.get(reverse("usage:card_esim", args=[sim.pk])).content.decode()

    assert "This is a physical SIM card" in body
    assert "qr-code" not in body


def test_the_card_page_lists_recent_usage_and_ledger_entries(client, card, owner):
    UsageRecordFactory(card=card, bytes=123_000_000)
    client.force_login(owner)

    body = client.get(reverse("usage:card_detail", args=[card.pk])).content.decode()

    assert card.iccid in body
    assert "123 MB" in body
    assert "No top-ups yet." in body


def test_the_help_page_answers_the_common_questions_without_a_login(client):
    body = client.get(reverse("usage:help")).content.decode()

    for question in [
        "What happens when my card expires?",
        "What happens to my remaining data if I renew before expiry?",
        "How long does a renewal take?",
        "Why can't I share a card with someone else?",
        "How do I install the eSIM?",
        "Can I get a refund?",
    ]:
        assert question in body
    assert "any data you have not\n" not in body  # trimmed blocktranslate
    assert "used is forfeited" in body
    assert "Please do not pay a second time." in body
    assert f'href="{reverse("support:ticket_new")}"' in body
