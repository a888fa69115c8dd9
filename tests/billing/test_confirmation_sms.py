"""The renewal confirmation by SMS: one segment where the alphabet allows, with a short link."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from billing.models import Order
from billing.services import order_create, order_fulfil
from notices import sms
from notices.sms import sms_segments
from tests.usage.card_factories import InventoryCardFactory

PAID = datetime(2026, 11, 26, 13, 5, tzinfo=UTC)
# A real site's address is longer than the development default.
SITE_URL = "https://portal.monaco-data.mc"


@pytest.fixture(autouse=True)
def _public_site(settings):
    settings.SITE_URL = SITE_URL


def confirmation_sms(owner, plan, card=None, *, language):
    owner.language, owner.notify_sms, owner.phone_verified = language, True, True
    owner.save()
    order = order_create(user=owner, plan=plan, card=card, now=PAID - timedelta(minutes=2))
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID, paid_at=PAID)
    sms.outbox.clear()
    order_fulfil(order_id=order.pk, now=PAID)
    [text] = sms.outbox
    return Order.objects.get(pk=order.pk), text.body


@pytest.mark.parametrize("language", ["en", "fr", "it"])
def test_the_confirmation_is_one_gsm_segment_with_a_short_receipt_link(owner, card, week_plan, language):
    order, body = confirmation_sms(owner, week_plan, card, language=language)

    assert sms_segments(body) == 1, f"{len(body)} characters: {body}"
    assert body.endswith(f"{SITE_URL}/o/{order.number}")
    assert card.iccid[-6:] in body
    assert "€14.90" in body or "14,90 €" in body


@pytest.mark.parametrize("language", ["en", "fr", "it"])
def test_a_new_esim_confirmation_is_one_gsm_segment_with_the_install_link(owner, week_plan, language):
    profile = InventoryCardFactory()

    _order, body = confirmation_sms(owner, week_plan, language=language)

    assert sms_segments(body) == 1, f"{len(body)} characters: {body}"
    assert body.endswith(f"{SITE_URL}/e/{profile.pk}")


def test_in_chinese_the_confirmations_stay_within_two_ucs2_segments(owner, card, week_plan):
    # 70 UCS-2 characters hold the link and little else: two segments (134) hold the facts.
    _order, renewed = confirmation_sms(owner, week_plan, card, language="zh-hans")
    InventoryCardFactory()
    _order, new_esim = confirmation_sms(owner, week_plan, language="zh-hans")

    assert "有效期至" in renewed
    assert sms_segments(renewed) <= 2, f"{len(renewed)} characters: {renewed}"
    assert sms_segments(new_esim) <= 2, f"{len(new_esim)} characters: {new_esim}"


def test_the_short_links_lead_the_owner_to_the_receipt_and_the_esim_page(
    owner_client, outsider_client, owner, card, week_plan
):
    order = order_create(user=owner, plan=week_plan, card=card, now=PAID)

    receipt = owner_client.get(f"/o/{order.number}")
    esim = owner_client.get(f"/e/{card.pk}")

    assert receipt["Location"] == reverse("billing:receipt", args=[order.number])
    assert esim["Location"] == reverse("usage:card_esim", args=[card.pk])
    assert outsider_client.get(f"/o/{order.number}").status_code == 404
    assert outsider_client.get(f"/e/{card.pk}").status_code == 404


def test_the_segment_count_follows_the_alphabet():
    assert sms_segments("a" * 160) == 1
    assert sms_segments("a" * 161) == 2
    assert sms_segments("€" * 80) == 1  # an escape plus the sign: two septets each
    assert sms_segments("€" * 81) == 2
    assert sms_segments("续" * 70) == 1
    assert sms_segments("续" * 71) == 2
    assert sms_segments("ê" + "a" * 69) == 1  # ê is not in the GSM alphabet: UCS-2
    assert sms_segments("ê" + "a" * 70) == 2
