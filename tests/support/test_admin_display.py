"""Issue 12 (17-19): the admin as support and finance read it — what each order granted, one date
format, data in GB/MB, and only the buttons the staff member may use."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from billing.services import order_create, order_fulfil, order_mark_paid
from portal.lib.display import format_monaco_datetime
from tests.billing.factories import PlanFactory
from tests.usage.card_factories import OwnedCardFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _renewed(customer, card, plan, when):
    with time_machine.travel(when, tick=False):
        order = order_create(user=customer, plan=plan, card=card, now=when)
        order_mark_paid(order_id=order.pk, paid_at=when, now=when, payment_method_type="card")
        return order_fulfil(order_id=order.pk, now=when)


def test_the_orders_list_shows_what_each_order_granted_not_the_cards_expiry_today(agent_client, customer):
    card = OwnedCardFactory(owner=customer, expires_at=NOW + timedelta(days=1))
    week = PlanFactory()
    first = _renewed(customer, card, week, NOW)
    second = _renewed(customer, card, week, NOW + timedelta(hours=2))
    card.refresh_from_db()

    with time_machine.travel(NOW + timedelta(hours=3), tick=False):
        page = agent_client.get(reverse("admin:billing_order_changelist")).content.decode()

    first_expiry = format_monaco_datetime(NOW + timedelta(days=8))
    second_expiry = format_monaco_datetime(NOW + timedelta(days=15))
    assert card.expires_at == NOW + timedelta(days=15)
    row = {order.number: page.split(order.number, 1)[1].split("</tr>", 1)[0] for order in (first, second)}
    assert f"valid until {first_expiry}" in row[first.number]
    assert f"valid until {second_expiry}" in row[second.number]
    assert second_expiry not in row[first.number]


def test_support_sees_no_password_reset_it_may_not_use_and_every_button_it_sees_opens(agent_client, customer):
    page = agent_client.get(reverse("admin:accounts_user_change", args=[customer.pk])).content.decode()
    password_url = reverse("admin:auth_user_password_change", args=[customer.pk])

    assert "Reset password" not in page
    assert password_url not in page
    assert agent_client.get(password_url).status_code == 403


@pytest.mark.parametrize("role", ["agent_client", "finance_client"])
def test_every_admin_link_and_button_shown_to_support_or_finance_opens(request, role, customer):
    import re

    from tests.support.factories import OrderFactory

    client = request.getfixturevalue(role)
    order = OrderFactory(customer=customer)
    pages = [
        reverse("admin:accounts_user_change", args=[customer.pk]),
        reverse("admin:billing_order_change", args=[order.pk]),
        reverse("admin:usage_card_change", args=[order.card.pk]),
        reverse("admin:billing_order_changelist"),
    ]
    refused = []
    for url in pages:
        response = client.get(url)
        if response.status_code == 403:
            continue  # not offered to this role at all (finance has no card pages)
        for link in set(re.findall(r'href="(/admin/[^"#?]*)', response.content.decode())):
            if "/logout/" in link:
                continue
            if client.get(link).status_code == 403:
                refused.append(f"{url} → {link}")
    assert not refused


def test_admin_pages_show_monaco_dates_with_the_zone_and_data_in_mb_or_gb_never_bytes(agent_client, customer):
    from tests.usage.card_factories import UsageRecordFactory
    from usage.models import LedgerEntry

    card = OwnedCardFactory(owner=customer, expires_at=NOW + timedelta(days=3), data_remaining=4_812_000_000)
    UsageRecordFactory(
        card=card, bytes=7_400_000, start=NOW - timedelta(hours=2), end=NOW - timedelta(hours=1)
    )
    LedgerEntry.objects.create(
        card=card, kind="usage", data_delta=-7_400_000, data_after=4_812_000_000, created_at=NOW
    )

    pages = {
        "ledger": agent_client.get(reverse("admin:usage_ledgerentry_changelist")).content.decode(),
        "records": agent_client.get(reverse("admin:usage_usagerecord_changelist")).content.decode(),
        "card": agent_client.get(reverse("admin:usage_card_change", args=[card.pk])).content.decode(),
        "customer": agent_client.get(
            reverse("admin:accounts_user_change", args=[customer.pk])
        ).content.decode(),
    }

    created = format_monaco_datetime(NOW)  # 25 Nov 2026, 13:00 (Monaco time, CET)
    assert created == "25 Nov 2026, 13:00 (Monaco time, CET)"
    assert created in pages["ledger"]
    assert "\u22127 MB" in pages["ledger"] and "4.8 GB" in pages["ledger"]  # a minus sign
    assert "7 MB" in pages["records"]
    assert "7 MB" in pages["card"]  # latest usage records on the card page
    assert "less than 0.1 GB" not in pages["card"]
    for name, page in pages.items():
        assert "7400000" not in page and "4812000000" not in page, name
        assert " p.m." not in page and " a.m." not in page, name  # Django's default "1 p.m."
    assert "(Monaco time, CET)" in pages["customer"]  # date joined, last login


@pytest.mark.usefixtures("compiled_translations")
@pytest.mark.parametrize("language", ["en", "fr", "it", "zh-hans"])
def test_django_renders_a_datetime_in_the_words_the_customer_pages_use(language):
    from django.utils import formats, translation
    from django.utils.timezone import template_localtime

    for moment in (NOW, NOW + timedelta(days=200)):  # winter (CET) and summer (CEST)
        with translation.override(language):
            assert formats.localize(template_localtime(moment)) == format_monaco_datetime(moment)


def test_support_sees_a_renew_links_token_masked_in_a_notice_while_the_customer_keeps_it_whole(
    agent_client, customer
):
    from django.conf import settings

    from billing.renew_links import renew_link_create
    from notices.models import Notification

    card = OwnedCardFactory(owner=customer, expires_at=NOW + timedelta(days=1))
    _link, token = renew_link_create(card=card, purpose="card_data_90", now=NOW)
    link = f"{settings.SITE_URL}/r/{token}"
    notice = Notification.objects.create(
        user=customer,
        kind="card_data_90",
        channel="email",
        dedupe_key=f"card_data_90:{card.pk}",
        recipient=customer.email,
        language="en",
        context={"renew_url": link, "card_name": "iPhone"},
    )

    page = agent_client.get(reverse("admin:notices_notification_change", args=[notice.pk]))

    assert page.status_code == 200
    text = page.content.decode()
    assert token not in text and token[4:12] not in text
    assert f"/r/{token[:4]}…" in text and "iPhone" in text
    notice.refresh_from_db()
    assert notice.context["renew_url"] == link  # what the customer's email and SMS carry
