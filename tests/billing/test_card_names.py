"""Issue 12, item 7: one name for a card on every page: the name its owner gave it, else "eSIM …000023"."""

import re
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.services import order_create

pytestmark = pytest.mark.django_db


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).replace("\u2060", "").split())


def _lead(page: str) -> str:
    return _text(re.search(r'<p class="lead">(.*?)</p>', page, re.S).group(1))


def test_the_checkout_heading_names_an_unnamed_card_once_by_its_last_digits(
    owner_client, week_plan, card, demo_mode
):
    card.label = ""
    card.save(update_fields=["label"])

    page = owner_client.get(
        reverse("billing:checkout") + f"?plan={week_plan.code}&card={card.pk}"
    ).content.decode()

    assert _lead(page) == f"Renew eSIM …{card.iccid[-6:]}"
    assert card.iccid not in _lead(page)


def test_the_checkout_heading_names_a_named_card_with_its_last_digits(
    owner_client, week_plan, card, demo_mode
):
    card.label = "Léa's phone"
    card.save(update_fields=["label"])

    page = owner_client.get(
        reverse("billing:checkout") + f"?plan={week_plan.code}&card={card.pk}"
    ).content.decode()

    assert _lead(page) == f"Renew Léa's phone …{card.iccid[-6:]}"


def test_the_dashboard_plans_orders_and_auto_renew_pages_call_an_unnamed_card_the_same(
    owner_client, owner, week_plan, card, demo_mode
):
    card.label = ""
    card.save(update_fields=["label"])
    order_create(user=owner, plan=week_plan, card=card, now=timezone.now())
    name = f"eSIM\u00a0…\u2060{card.iccid[-6:]}"

    for url in (
        reverse("usage:dashboard"),
        reverse("plans:list") + f"?card={card.pk}",
        reverse("billing:orders"),
        reverse("billing:auto_renew", args=[card.pk]),
    ):
        page = owner_client.get(url).content.decode()
        assert name in page, url
        assert f"Card …{card.iccid[-6:]}" not in page, url


def test_the_auto_renew_message_names_the_card_as_the_pages_do(owner_client, week_plan, card, demo_mode):
    card.label = ""
    card.save(update_fields=["label"])

    response = owner_client.post(
        reverse("billing:auto_renew", args=[card.pk]), {"plan": week_plan.code}, follow=True
    )

    messages = [str(message) for message in response.context["messages"]]
    assert any(f"eSIM\u00a0…\u2060{card.iccid[-6:]}" in message for message in messages), messages
