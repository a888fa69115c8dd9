"""Issue 12, item 8: an order names its plan as sold, in the reader's language: the order page, the orders
list, the demo payment page, the receipt (which says which name it shows) and the confirmation."""

import re
from html import unescape

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from billing.models import Order
from billing.presenters import order_plan_name
from billing.services import order_create, order_fulfil, order_mark_paid

pytestmark = pytest.mark.django_db


@pytest.fixture
def week_pass(week_plan):
    week_plan.name_en = "Week Pass"
    week_plan.name_zh_hans = "一周畅游"
    week_plan.name_fr = "Pass Semaine"
    week_plan.save()
    return week_plan


@pytest.fixture
def chinese_order(owner, card, week_pass, demo_mode):
    owner.language = "zh-hans"
    owner.save(update_fields=["language"])
    return order_create(user=owner, plan=week_pass, card=card, now=timezone.now())


def _text(response) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def test_an_order_keeps_the_plan_name_in_every_language_it_had(chinese_order):
    assert chinese_order.plan_names == {"en": "Week Pass", "zh-hans": "一周畅游", "fr": "Pass Semaine"}
    assert chinese_order.plan_name == "Week Pass"


def test_the_order_pages_name_the_plan_in_chinese_for_a_chinese_customer(owner_client, chinese_order):
    pages = [
        reverse("billing:order_status", args=[chinese_order.number]),
        reverse("billing:orders"),
        reverse("billing:demo_checkout", args=[chinese_order.number]),
    ]
    for url in pages:
        text = _text(owner_client.get(url))
        assert "一周畅游" in text, url
        assert "Week Pass" not in text, url


def test_the_receipt_names_the_plan_as_sold_and_says_so(compiled_translations, owner_client, chinese_order):
    now = timezone.now()
    order_mark_paid(order_id=chinese_order.pk, paid_at=now, now=now)
    order_fulfil(order_id=chinese_order.pk, now=now)

    response = owner_client.get(reverse("billing:receipt", args=[chinese_order.number]))

    assert 'data-testid="plan-name">一周畅游<' in response.content.decode()
    assert "套餐名称为购买时的名称。" in _text(response)


def test_a_plan_renamed_after_the_sale_leaves_the_order_and_its_confirmation_as_sold(
    owner_client, chinese_order, week_pass
):
    week_pass.name_zh_hans = "七天无忧"
    week_pass.name_en = "Seven Days"
    week_pass.save()
    now = timezone.now()
    order_mark_paid(order_id=chinese_order.pk, paid_at=now, now=now)
    order_fulfil(order_id=chinese_order.pk, now=now)

    assert "一周畅游" in _text(owner_client.get(reverse("billing:orders")))
    assert "七天无忧" not in _text(owner_client.get(reverse("billing:orders")))
    confirmation = mail.outbox[-1]
    assert "一周畅游" in confirmation.body
    assert "七天无忧" not in confirmation.body


def test_the_same_order_reads_in_english_on_an_english_page(client, owner, chinese_order):
    owner.language = "en"
    owner.save(update_fields=["language"])
    client.force_login(owner)

    text = _text(client.get(reverse("billing:orders")))

    assert "Week Pass" in text
    assert "一周畅游" not in text


def test_an_order_from_before_the_snapshot_shows_the_plans_name_today_and_the_receipt_says_so(
    compiled_translations, owner_client, chinese_order
):
    # Orders sold before every language was kept have the English name only.
    Order.objects.filter(pk=chinese_order.pk).update(plan_names={})
    now = timezone.now()
    order_mark_paid(order_id=chinese_order.pk, paid_at=now, now=now)
    order_fulfil(order_id=chinese_order.pk, now=now)
    order = Order.objects.get(pk=chinese_order.pk)

    assert order_plan_name(order, "zh-hans").text == "一周畅游"
    assert order_plan_name(order, "zh-hans").as_sold is False
    assert order_plan_name(order, "en").text == "Week Pass"
    assert order_plan_name(order, "en").as_sold is True
    text = _text(owner_client.get(reverse("billing:receipt", args=[order.number])))
    assert "套餐名称为其现在的名称；购买时名为“Week Pass”。" in text  # noqa: RUF001


def test_a_language_the_plan_had_no_name_in_gets_the_name_it_was_sold_under(chinese_order):
    assert order_plan_name(chinese_order, "it").text == "Week Pass"
    assert order_plan_name(chinese_order, "it").as_sold is True
