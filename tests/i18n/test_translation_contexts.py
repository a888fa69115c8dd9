"""Issue 12 (9): one English word with two meanings gets one translation per meaning (msgctxt)."""

import pytest
from django.urls import reverse
from django.utils import translation

from billing.models import Refund
from notices.models import Notification
from tests.usage.card_factories import OwnedCardFactory, UsageRecordFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("compiled_translations")]


def test_the_card_usage_table_ends_its_time_range_with_to_not_recipient_in_chinese(client, owner):
    card = OwnedCardFactory(owner=owner)
    UsageRecordFactory(card=card)
    owner.language = "zh-hans"
    owner.save()
    client.force_login(owner)

    page = client.get(reverse("usage:card_detail", args=[card.pk])).content.decode()

    assert "结束" in page
    assert "收件人" not in page


def test_the_notices_table_for_support_still_names_the_recipient(client, admin_user, owner):
    Notification.objects.create(
        user=owner, kind="renewal_confirmation", channel="sms", dedupe_key="n1", recipient="+37761234567"
    )
    admin_user.language = "zh-hans"
    admin_user.save()
    client.force_login(admin_user)

    page = client.get(reverse("admin:accounts_user_change", args=[owner.pk])).content.decode()

    assert "<th>收件人</th>" in page


@pytest.mark.parametrize(
    ("status", "order_word", "refund_word"),
    [("refunded", "Remboursée", "Effectué"), ("cancelled", "Annulée", "Annulé")],
)
def test_a_refund_status_agrees_with_the_refund_not_the_order_in_french(status, order_word, refund_word):
    from billing.models import Order

    refund_status = {"refunded": Refund.Status.SUCCEEDED, "cancelled": Refund.Status.CANCELED}[status]
    with translation.override("fr"):
        assert str(Order.Status(status).label) == order_word
        assert str(refund_status.label) == refund_word
