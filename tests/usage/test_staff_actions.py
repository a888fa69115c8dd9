from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from audit.models import AuditEntry
from tests.support.factories import GB, CardFactory
from usage import ledger
from usage.models import LedgerEntry, ProvisioningEvent

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def card(customer):
    return CardFactory(
        owner=customer,
        data_remaining=2 * GB,
        expires_at=NOW + timedelta(days=3),
        period_started_at=NOW - timedelta(days=4),
        period_allowance=5 * GB,
    )


def action_url(card, name):
    return reverse("admin:usage_card_staff_action", args=[card.pk, name])


def test_the_card_page_offers_adjust_and_suspend_to_support(agent_client, card):
    response = agent_client.get(reverse("admin:usage_card_change", args=[card.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert action_url(card, "adjust") in page
    assert action_url(card, "suspend") in page
    assert action_url(card, "resume") not in page
    assert "Monaco time" in page


def test_an_action_without_a_reason_changes_nothing(agent_client, card):
    response = agent_client.post(
        action_url(card, "adjust"), {"data_gb": "1", "extend_hours": "0", "reason": "  "}
    )
    assert response.status_code == 200
    assert (
        "This field is required" in response.content.decode() or "Give a reason" in response.content.decode()
    )
    card.refresh_from_db()
    assert card.data_remaining == 2 * GB
    assert not LedgerEntry.objects.exists()
    assert not AuditEntry.objects.exists()


def test_adjusting_adds_data_and_extends_expiry_as_one_ledger_adjustment(agent_client, card, support_agent):
    response = agent_client.post(
        action_url(card, "adjust"),
        {"data_gb": "1.5", "extend_hours": "24", "new_expiry": "", "reason": "Network outage on 24 Nov"},
    )
    assert response.status_code == 302
    card.refresh_from_db()
    assert card.data_remaining == int(3.5 * GB)
    assert card.expires_at == NOW + timedelta(days=4)
    assert card.suspended_at is None

    entry = LedgerEntry.objects.get()
    assert entry.kind == LedgerEntry.Kind.ADJUSTMENT
    assert entry.data_delta == int(1.5 * GB)
    assert entry.expires_before == NOW + timedelta(days=3)
    assert entry.expires_after == NOW + timedelta(days=4)
    assert entry.staff_user == support_agent
    assert entry.reason == "Network outage on 24 Nov"
    assert ProvisioningEvent.objects.filter(ledger_entry=entry).exists()

    audit = AuditEntry.objects.get()
    assert audit.actor == support_agent
    assert audit.action == "card_adjust"
    assert audit.object_type == "usage.card"
    assert audit.object_id == str(card.pk)
    assert audit.reason == "Network outage on 24 Nov"
    assert audit.before["data_remaining"] == 2 * GB
    assert audit.after["data_remaining"] == int(3.5 * GB)
    assert audit.after["ledger_entry_id"] == entry.pk


def test_a_new_expiry_is_read_in_monaco_time(agent_client, card):
    agent_client.post(
        action_url(card, "adjust"),
        {"data_gb": "0", "extend_hours": "", "new_expiry": "2026-12-03 14:05", "reason": "Goodwill"},
    )
    card.refresh_from_db()
    assert card.expires_at == datetime(2026, 12, 3, 13, 5, tzinfo=UTC)  # CET is UTC+1 in December
    assert card.data_remaining == 2 * GB


def test_removing_more_data_than_is_left_is_refused_with_a_message(agent_client, card):
    response = agent_client.post(action_url(card, "adjust"), {"data_gb": "-3", "reason": "Typo"})
    assert response.status_code == 200
    assert "cannot lose" in response.content.decode()
    card.refresh_from_db()
    assert card.data_remaining == 2 * GB
    assert not AuditEntry.objects.exists()


def test_suspend_then_resume_are_ledger_entries_and_audited(agent_client, card):
    agent_client.post(action_url(card, "suspend"), {"reason": "Reported stolen"})
    card.refresh_from_db()
    assert card.suspended_at == NOW
    assert card.data_remaining == 2 * GB
    agent_client.post(action_url(card, "resume"), {"reason": "Found again"})
    card.refresh_from_db()
    assert card.suspended_at is None
    assert list(LedgerEntry.objects.values_list("kind", flat=True)) == ["suspension", "resumption"]
    assert list(AuditEntry.objects.order_by("id").values_list("action", "reason")) == [
        ("card_suspend", "Reported stolen"),
        ("card_resume", "Found again"),
    ]


def test_finance_cannot_adjust_a_card(finance_client, card):
    response = finance_client.post(action_url(card, "adjust"), {"data_gb": "5", "reason": "Because"})
    assert response.status_code == 403
    card.refresh_from_db()
    assert card.data_remaining == 2 * GB


def test_the_card_page_shows_ledger_usage_and_provisioning(agent_client, card):
    agent_client.post(action_url(card, "adjust"), {"data_gb": "1", "reason": "Test"})
    page = agent_client.get(reverse("admin:usage_card_change", args=[card.pk])).content.decode()
    assert "Adjustment" in page
    assert "Not sent (no carrier URL configured)" in page or "Waiting to be sent" in page
    assert "No usage recorded." in page


def test_the_card_page_shows_the_latest_ledger_entries_and_links_to_all(agent_client, card):
    from django.db import transaction
    from django.utils import timezone

    with transaction.atomic():
        locked = type(card).objects.select_for_update().get(pk=card.pk)
        for number in range(105):
            ledger.ledger_append(
                card=locked,
                kind="adjustment",
                data_delta=1,
                expires_after=locked.expires_at,
                now=timezone.now(),
                reason=f"entry {number}",
            )
    response = agent_client.get(reverse("admin:usage_card_change", args=[card.pk]))
    page = response.content.decode()
    assert "entry 104" in page
    assert "entry 4<" not in page and "entry 4\n" not in page
    full = reverse("admin:usage_ledgerentry_changelist") + f"?card__id__exact={card.pk}"
    assert full in page
    assert agent_client.get(full).context["cl"].result_count == 105
