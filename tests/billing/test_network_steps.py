"""'It took' means the network took it: each step with its time, the carrier's acknowledgement last."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from billing.models import Order
from billing.reconcile import orders_reconcile
from billing.services import order_create
from tests.usage.test_provisioning import Carrier
from usage.models import LedgerEntry, ProvisioningEvent
from usage.provisioning import CONFIRMATION_BOUND, provisioning_event_deliver

State = ProvisioningEvent.State


@pytest.fixture
def carrier(settings):
    servers = []

    def start(failures=0):
        server = Carrier(failures)
        servers.append(server)
        settings.CARRIER_PROVISIONING_URL = server.url
        settings.CARRIER_PROVISIONING_SECRET = "provisioning-test-secret"
        return server

    yield start
    for server in servers:
        server.close()


def renewed(owner, card, plan, django_capture_on_commit_callbacks) -> Order:
    """Paid with account credit: paid and renewed at once, as after any payment."""
    from billing.models import WalletEntry
    from billing.services import wallet_move

    wallet_move(user=owner, amount_cents=plan.price_cents, kind=WalletEntry.Kind.GOODWILL, now=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        order = order_create(user=owner, plan=plan, card=card, now=timezone.now(), apply_wallet=True)
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    return order


def status_page(client, owner, order) -> str:
    client.force_login(owner)
    return (
        client.get(reverse("billing:order_status", args=[order.number])).content.decode().replace("\xa0", " ")
    )


def test_without_a_carrier_the_page_says_plainly_that_the_network_is_updated_separately(
    client, owner, card, week_plan, settings, django_capture_on_commit_callbacks
):
    settings.CARRIER_PROVISIONING_URL = ""
    order = renewed(owner, card, week_plan, django_capture_on_commit_callbacks)

    html = status_page(client, owner, order)

    assert 'data-step="paid"' in html and 'data-step="renewed"' in html
    assert "Updated separately from this portal" in html
    assert "The mobile network is updated separately from this portal" in html
    assert "Confirmed by the network" not in html
    assert 'data-finished="true"' in html


def test_each_step_has_its_time_and_done_says_confirmed_once_the_carrier_acknowledged(
    client, owner, card, week_plan, carrier, django_capture_on_commit_callbacks
):
    server = carrier(failures=100)  # the carrier does not answer yet
    order = renewed(owner, card, week_plan, django_capture_on_commit_callbacks)
    event = ProvisioningEvent.objects.get(ledger_entry__order_id=order.pk)

    waiting = status_page(client, owner, order)
    assert event.state == State.RETRYING and event.first_attempted_at is not None
    assert "Sent to the network, waiting for its confirmation (attempt 1)" in waiting
    assert 'data-finished="false"' in waiting  # the page keeps watching
    assert "confirmed by the network" not in waiting

    server.failures = 0
    provisioning_event_deliver(event_id=event.pk, attempts_seen=event.attempts, now=timezone.now())
    event.refresh_from_db()
    confirmed = status_page(client, owner, order)

    assert event.state == State.SENT
    assert "Done, and confirmed by the network" in confirmed
    for step in ("paid", "renewed", "sent", "confirmed"):
        assert f'class="timeline-step is-done" data-step="{step}"' in confirmed
    confirmed_step = confirmed.split('data-step="confirmed"')[1].split("</li>")[0]
    assert event.sent_at.astimezone(ZoneInfo("Europe/Monaco")).strftime("%H:%M") in confirmed_step
    json = client.get(reverse("billing:order_status_json", args=[order.number])).json()
    assert [step["key"] for step in json["steps"]] == ["paid", "renewed", "sent", "confirmed"]
    assert json["finished"] is True and json["network_state"] == "confirmed"


def test_not_acknowledged_within_ten_minutes_flags_the_order_and_tells_the_traveller(
    client, owner, card, week_plan, carrier, django_capture_on_commit_callbacks
):
    carrier(failures=100)
    order = renewed(owner, card, week_plan, django_capture_on_commit_callbacks)

    assert orders_reconcile(now=timezone.now())["network_unconfirmed"] == 0
    later = timezone.now() + CONFIRMATION_BOUND + timedelta(seconds=1)
    assert orders_reconcile(now=later)["network_unconfirmed"] == 1
    assert orders_reconcile(now=later + timedelta(minutes=1))["network_unconfirmed"] == 0  # once

    order.refresh_from_db()
    assert order.flagged_at is not None
    assert "not confirmed the top-up within 10 minutes" in order.last_error
    with time_machine.travel(later, tick=False):
        html = status_page(client, owner, order)
    assert "The network has not confirmed the change yet" in html
    assert "our support team has been told" in html
    assert "You do not need to pay again." in html


def test_the_card_page_shows_the_latest_change_on_its_way_to_the_network(
    client, owner, card, week_plan, carrier, django_capture_on_commit_callbacks
):
    carrier(failures=0)
    order = renewed(owner, card, week_plan, django_capture_on_commit_callbacks)
    topup = LedgerEntry.objects.get(order_id=order.pk)
    assert ProvisioningEvent.objects.get(ledger_entry=topup).state == State.SENT

    client.force_login(owner)
    html = client.get(reverse("usage:card_detail", args=[card.pk])).content.decode()

    assert "Latest change, on its way to the network" in html
    assert 'class="timeline-step is-done" data-step="confirmed"' in html
