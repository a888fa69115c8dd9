import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.db import transaction
from django.urls import reverse

from audit.models import AuditEntry
from usage.ledger import card_topup, cards_expire
from usage.models import Card, ProvisioningEvent
from usage.provisioning import (
    MAX_ATTEMPTS,
    provisioning_event_claim,
    provisioning_event_deliver,
    provisioning_event_requeue,
    retry_delay,
    sign,
)
from usage.tasks import provisioning_events_dispatch

from .ledger_factories import CardFactory

GB = 1_000_000_000
WEEK = timedelta(days=7)
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
SECRET = "provisioning-secret"

pytestmark = pytest.mark.django_db
State = ProvisioningEvent.State


class Carrier:
    """A local stand-in for the carrier: answers 503 to the first `failures` requests, then 200."""

    def __init__(self, failures=0):
        self.failures = failures
        self.requests = []
        carrier = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                carrier.requests.append((dict(self.headers), body))
                status = 503 if len(carrier.requests) <= carrier.failures else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"busy" if status == 503 else b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/provisioning"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def carrier(settings):
    servers = []

    def start(failures=0):
        server = Carrier(failures)
        servers.append(server)
        settings.CARRIER_PROVISIONING_URL = server.url
        settings.CARRIER_PROVISIONING_SECRET = SECRET
        return server

    yield start
    for server in servers:
        server.close()


def topup(card, *, order_id=1, start=T0):
    with transaction.atomic():
        return card_topup(
            card=Card.objects.select_for_update().get(pk=card.pk),
            allowance_bytes=GB,
            duration=WEEK,
            start=start,
            order_id=order_id,
            now=start,
        )


def test_a_topup_is_sent_to_the_carrier_signed_once_committed(carrier, django_capture_on_commit_callbacks):
    receiver = carrier()
    card = CardFactory()
    with time_machine.travel(T0, tick=False), django_capture_on_commit_callbacks(execute=True):
        entry = topup(card)
    event = ProvisioningEvent.objects.get(ledger_entry=entry)
    assert (event.state, event.attempts, event.sent_at) == (State.SENT, 1, T0)
    [(headers, body)] = receiver.requests
    payload = json.loads(body)
    assert payload["ledger_entry_id"] == entry.id
    assert payload["iccid"] == card.iccid
    assert payload["kind"] == "topup"
    assert headers["X-Portal-Timestamp"] == str(int(T0.timestamp()))
    assert headers["X-Portal-Signature"] == sign(
        body=body, timestamp=headers["X-Portal-Timestamp"], secret=SECRET
    )
    assert headers["Idempotency-Key"] == f"ledger-entry-{entry.id}"


def test_nothing_is_sent_before_the_transaction_commits(carrier, django_capture_on_commit_callbacks):
    receiver = carrier()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        topup(CardFactory())
    assert receiver.requests == []
    assert len(callbacks) == 1


def test_failed_attempts_are_retried_with_backoff_until_acknowledged(
    carrier, django_capture_on_commit_callbacks
):
    receiver = carrier(failures=2)
    card = CardFactory()
    with time_machine.travel(T0, tick=False), django_capture_on_commit_callbacks(execute=True):
        entry = topup(card)
    event = ProvisioningEvent.objects.get(ledger_entry=entry)
    assert (event.state, event.attempts) == (State.RETRYING, 1)
    assert event.next_attempt_at == T0 + timedelta(seconds=30)
    assert "HTTP 503" in event.last_error

    with time_machine.travel(T0 + timedelta(seconds=10), tick=False):
        assert provisioning_events_dispatch() == 0  # not due yet
    with time_machine.travel(T0 + timedelta(seconds=31), tick=False):
        assert provisioning_events_dispatch() == 1
    event.refresh_from_db()
    assert (event.state, event.attempts) == (State.RETRYING, 2)
    assert event.next_attempt_at == T0 + timedelta(seconds=31 + 60)

    with time_machine.travel(T0 + timedelta(seconds=95), tick=False):
        provisioning_events_dispatch()
    event.refresh_from_db()
    assert (event.state, event.attempts, event.last_error) == (State.SENT, 3, "")
    assert len(receiver.requests) == 3
    # Every attempt carried the same ledger entry id, so the carrier can ignore repeats.
    assert {json.loads(body)["ledger_entry_id"] for _, body in receiver.requests} == {entry.id}


def test_backoff_doubles_up_to_an_hour():
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert retry_delay(30) == timedelta(hours=1)


def test_it_gives_up_after_the_last_attempt(carrier):
    carrier(failures=10**6)
    card = CardFactory()
    entry = topup(card)
    event = ProvisioningEvent.objects.get(ledger_entry=entry)
    ProvisioningEvent.objects.filter(pk=event.pk).update(attempts=MAX_ATTEMPTS - 1, state=State.RETRYING)
    outcome = provisioning_event_deliver(event_id=event.pk, attempts_seen=MAX_ATTEMPTS - 1, now=T0)
    event.refresh_from_db()
    assert outcome.state == event.state == State.FAILED
    assert event.next_attempt_at is None
    provisioning_event_requeue(event=event, now=T0)
    event.refresh_from_db()
    assert (event.state, event.attempts) == (State.PENDING, 0)


def test_an_unreachable_carrier_is_retried(settings):
    settings.CARRIER_PROVISIONING_URL = "http://127.0.0.1:9/nothing-listens-here"
    entry = topup(CardFactory())
    event = ProvisioningEvent.objects.get(ledger_entry=entry)
    outcome = provisioning_event_deliver(event_id=event.pk, attempts_seen=0, now=T0)
    event.refresh_from_db()
    assert outcome.state == event.state == State.RETRYING
    assert "ConnectionError" in event.last_error


def test_two_workers_never_send_the_same_attempt(carrier):
    receiver = carrier()
    entry = topup(CardFactory())
    event = ProvisioningEvent.objects.get(ledger_entry=entry)
    assert provisioning_event_claim(event_id=event.pk, attempts_seen=0, now=T0) is True
    assert provisioning_event_claim(event_id=event.pk, attempts_seen=0, now=T0) is False
    outcome = provisioning_event_deliver(event_id=event.pk, attempts_seen=0, now=T0)
    assert outcome.claimed is False
    assert receiver.requests == []


def test_a_sent_event_is_never_sent_again(carrier):
    receiver = carrier()
    entry = topup(CardFactory())
    event = ProvisioningEvent.objects.get(ledger_entry=entry)
    provisioning_event_deliver(event_id=event.pk, attempts_seen=0, now=T0)
    assert provisioning_event_deliver(event_id=event.pk, attempts_seen=1, now=T0).claimed is False
    assert provisioning_events_dispatch() == 0
    assert len(receiver.requests) == 1
    with pytest.raises(ValueError):
        provisioning_event_requeue(event=ProvisioningEvent.objects.get(pk=event.pk), now=T0)


def test_a_worker_that_died_mid_send_is_replaced_after_its_lease(carrier):
    receiver = carrier()
    entry = topup(CardFactory())
    event = ProvisioningEvent.objects.get(ledger_entry=entry)
    provisioning_event_claim(event_id=event.pk, attempts_seen=0, now=T0)  # ...and then the worker died
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        assert provisioning_events_dispatch() == 0
    with time_machine.travel(T0 + timedelta(minutes=3), tick=False):
        assert provisioning_events_dispatch() == 1
    event.refresh_from_db()
    assert event.state == State.SENT
    assert len(receiver.requests) == 1


def test_without_a_carrier_url_events_are_recorded_as_not_sent(settings):
    settings.CARRIER_PROVISIONING_URL = ""
    entry = topup(CardFactory())
    event = ProvisioningEvent.objects.get(ledger_entry=entry)
    assert event.state == State.NOT_SENT
    assert provisioning_events_dispatch() == 0


def test_the_expiry_sweep_hands_its_events_to_the_dispatcher(carrier, django_capture_on_commit_callbacks):
    receiver = carrier()
    cards = [CardFactory() for _ in range(3)]
    for order_id, card in enumerate(cards, start=1):
        topup(card, order_id=order_id)
    ProvisioningEvent.objects.update(state=State.SENT)  # the top-ups went out earlier
    with time_machine.travel(T0 + WEEK, tick=False), django_capture_on_commit_callbacks(execute=True):
        assert cards_expire(now=T0 + WEEK) == 3
    forfeits = ProvisioningEvent.objects.filter(ledger_entry__kind="expiry_forfeit")
    assert sorted(forfeits.values_list("state", flat=True)) == [State.SENT] * 3
    assert sorted(json.loads(body)["iccid"] for _, body in receiver.requests) == sorted(
        c.iccid for c in cards
    )


def failed_for_good(event):
    ProvisioningEvent.objects.filter(pk=event.pk).update(
        state=State.FAILED, attempts=MAX_ATTEMPTS, last_error="HTTP 503: busy"
    )


def resend_url(event):
    return reverse("admin:usage_provisioningevent_staff_action", args=[event.pk, "resend"])


def test_support_sends_an_event_that_failed_for_good_again_from_the_admin(
    carrier, agent_client, support_agent, django_capture_on_commit_callbacks
):
    receiver = carrier()
    event = ProvisioningEvent.objects.get(ledger_entry=topup(CardFactory()))
    failed_for_good(event)

    page = agent_client.get(reverse("admin:usage_provisioningevent_change", args=[event.pk])).content.decode()
    assert resend_url(event) in page
    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(resend_url(event), {"reason": "Carrier outage on 1 Nov is over"})

    assert response.status_code == 302
    event.refresh_from_db()
    assert (event.state, event.attempts, event.last_error) == (State.SENT, 1, "")
    assert len(receiver.requests) == 1
    entry = AuditEntry.objects.get(action="provisioning_event_resend")
    assert (entry.actor, entry.reason) == (support_agent, "Carrier outage on 1 Nov is over")
    assert entry.before["state"] == State.FAILED
    assert entry.after["state"] == State.PENDING


def test_an_older_event_is_not_sent_after_a_newer_one_reached_the_carrier(carrier, agent_client):
    receiver = carrier()
    card = CardFactory()
    older = ProvisioningEvent.objects.get(ledger_entry=topup(card, order_id=1))
    failed_for_good(older)
    newer = ProvisioningEvent.objects.get(ledger_entry=topup(card, order_id=2, start=T0 + WEEK))
    provisioning_event_deliver(event_id=newer.pk, attempts_seen=0, now=T0 + WEEK)

    page = agent_client.get(reverse("admin:usage_provisioningevent_change", args=[older.pk])).content.decode()
    assert resend_url(older) not in page
    agent_client.post(resend_url(older), {"reason": "try anyway"})
    older.refresh_from_db()
    assert older.state == State.FAILED
    assert len(receiver.requests) == 1


def test_finance_cannot_resend_a_provisioning_event(carrier, finance_client):
    carrier()
    event = ProvisioningEvent.objects.get(ledger_entry=topup(CardFactory()))
    failed_for_good(event)

    assert finance_client.post(resend_url(event), {"reason": "x"}).status_code == 403
    event.refresh_from_db()
    assert event.state == State.FAILED
