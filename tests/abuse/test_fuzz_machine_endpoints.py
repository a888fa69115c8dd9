"""Hostile input to the two machine endpoints: the Stripe webhook and the carrier usage feed.

Whatever arrives, the answer is a 2xx (a well-formed, signed message) or a 4xx with a message saying
what was wrong: never a 500, and nothing is stored from a refused request.
"""

import json
import time
from datetime import timedelta

import pytest
import stripe
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from billing.models import WebhookEvent
from tests.abuse.conftest import fuzz, odd_json, odd_number, odd_text
from tests.usage.card_factories import OwnedCardFactory
from usage.feeds import SIGNATURE_HEADER, TIMESTAMP_HEADER, usage_signature
from usage.models import LedgerEntry, UsageRecord

pytestmark = pytest.mark.django_db

WEBHOOK_SECRET = "whsec_abuse_test_only"
USAGE_SECRET = "abuse-usage-secret-test-only"
WEBHOOK_URL = "/stripe/webhook"
FEED_URL = "/carrier/usage"

content_types = st.sampled_from(
    [
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "application/xml",
        "",
    ]
)
raw_bodies = st.one_of(
    st.binary(max_size=300),
    odd_json.map(lambda value: json.dumps(value).encode()),
    st.sampled_from(
        [
            b"",
            b"{",
            b"null",
            b"[]",
            b'{"records": null}',
            b'{"id": "evt_1"',
            b"\xed\xa0\x80",  # a lone surrogate, as CESU-8 would encode it
            b"\xff\xfe{\x00}\x00",
            b'{"id": "\\ud800", "type": "x"}',
            b'{"id": "evt_1", "type": "checkout.session.completed", "data": 5}',
            b"NaN",
            b"1e999999",
            b"[" * 5000 + b"]" * 5000,
        ]
    ),
)


@pytest.fixture(autouse=True)
def _secrets(settings):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.CARRIER_USAGE_SECRET = USAGE_SECRET
    settings.CARRIER_USAGE_MAX_BODY_BYTES = 100_000


def stripe_signature(payload: bytes) -> str:
    return stripe.WebhookSignature.generate_signature_header(
        payload.decode("utf-8", "replace"), WEBHOOK_SECRET, timestamp=int(time.time())
    )


def feed_headers(body: bytes, *, timestamp: int | None = None) -> dict:
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    return {
        f"HTTP_{TIMESTAMP_HEADER.upper().replace('-', '_')}": stamp,
        f"HTTP_{SIGNATURE_HEADER.upper().replace('-', '_')}": usage_signature(
            body=body, timestamp=stamp, secret=USAGE_SECRET
        ),
    }


def assert_clear_refusal(response, *statuses):
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    assert response.content.strip(), "a refusal says what was wrong"


# --- Stripe webhook ----------------------------------------------------------------------------


@fuzz
@given(body=raw_bodies, content_type=content_types, signature=st.one_of(st.none(), odd_text))
def test_an_unsigned_or_badly_signed_webhook_is_refused_and_nothing_is_stored(
    client, body, content_type, signature
):
    headers = {} if signature is None else {"HTTP_STRIPE_SIGNATURE": signature.replace("\x00", "")}

    response = client.generic("POST", WEBHOOK_URL, data=body, content_type=content_type, **headers)

    assert_clear_refusal(response, 400)
    assert WebhookEvent.objects.count() == 0


@fuzz
@given(body=raw_bodies, content_type=content_types)
def test_a_signed_webhook_of_any_shape_never_breaks_the_endpoint(client, body, content_type):
    before = WebhookEvent.objects.count()

    response = client.post(
        WEBHOOK_URL, data=body, content_type=content_type, HTTP_STRIPE_SIGNATURE=stripe_signature(body)
    )

    if response.status_code == 200:
        assert WebhookEvent.objects.count() <= before + 1
    else:
        assert_clear_refusal(response, 400)
        assert WebhookEvent.objects.count() == before


event_ids = st.one_of(odd_text, odd_number, st.just("evt_" + "x" * 400), st.lists(st.integers(), max_size=2))


@fuzz
@given(
    event_id=event_ids,
    event_type=st.one_of(odd_text, odd_number, st.none(), st.just({"a": 1})),
    data=odd_json,
)
def test_a_signed_event_with_odd_fields_is_stored_once_or_refused(client, event_id, event_type, data):
    event = {"id": event_id, "object": "event", "type": event_type, "data": {"object": data}}
    body = json.dumps(event).encode()
    before = WebhookEvent.objects.count()

    response = client.post(
        WEBHOOK_URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=stripe_signature(body)
    )

    if response.status_code == 200:
        assert WebhookEvent.objects.count() in (before, before + 1)
    else:
        assert_clear_refusal(response, 400)
        assert WebhookEvent.objects.count() == before


@pytest.mark.parametrize(
    "event",
    [
        {"id": "evt_\x00", "type": "x"},
        {"id": "evt_1", "type": "x", "data": {"object": {"name": "a\x00b"}}},
        {"id": "evt_\ud800", "type": "x"},
        {"id": 42, "type": "x"},
        {"id": "evt_" + "x" * 300, "type": "x"},
        [{"id": "evt_1"}],
    ],
    ids=["nul id", "nul inside", "lone surrogate", "number id", "id too long", "a list"],
)
def test_signed_events_that_cannot_be_stored_are_refused_on_every_database(client, event):
    body = json.dumps(event).encode()

    response = client.generic(
        "POST",
        WEBHOOK_URL,
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=stripe_signature(body),
    )

    assert_clear_refusal(response, 400)
    assert WebhookEvent.objects.count() == 0


def test_a_huge_webhook_body_is_refused_and_nothing_is_stored(client):
    body = json.dumps({"id": "evt_huge", "type": "x", "padding": "x" * 3_000_000}).encode()

    response = client.post(
        WEBHOOK_URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=stripe_signature(body)
    )

    assert response.status_code in (400, 413)
    assert WebhookEvent.objects.count() == 0


def test_a_get_on_the_webhook_is_refused(client):
    assert client.get(WEBHOOK_URL).status_code == 405


# --- Carrier usage feed ------------------------------------------------------------------------


@fuzz
@given(
    body=raw_bodies,
    content_type=content_types,
    timestamp=st.one_of(st.none(), odd_text, odd_number.map(str)),
    signature=st.one_of(st.none(), odd_text, st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)),
)
def test_an_unsigned_or_badly_signed_usage_batch_is_refused_and_nothing_is_stored(
    client, body, content_type, timestamp, signature
):
    headers = {}
    if timestamp is not None:
        headers["HTTP_X_CARRIER_TIMESTAMP"] = timestamp.replace("\x00", "")
    if signature is not None:
        headers["HTTP_X_CARRIER_SIGNATURE"] = signature.replace("\x00", "")

    response = client.generic("POST", FEED_URL, data=body, content_type=content_type, **headers)

    assert_clear_refusal(response, 401)
    assert response.json()["message"]
    assert UsageRecord.objects.count() == 0


@fuzz
@given(body=raw_bodies, content_type=content_types)
def test_a_signed_usage_batch_of_any_shape_never_breaks_the_feed(client, body, content_type):
    response = client.generic("POST", FEED_URL, data=body, content_type=content_type, **feed_headers(body))

    if response.status_code == 200:
        assert response.json()["applied"] == 0  # no card exists: nothing can apply
    else:
        assert_clear_refusal(response, 400)
        assert response.json()["message"]
    assert UsageRecord.objects.count() == 0
    assert LedgerEntry.objects.count() == 0


@pytest.fixture
def feed_card(db):
    return OwnedCardFactory()


moments = st.one_of(
    odd_text,
    odd_number,
    st.datetimes(timezones=st.just(timezone.get_current_timezone())).map(lambda moment: moment.isoformat()),
    st.sampled_from(["2026-02-30T00:00:00Z", "9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00", "now", ""]),
)


@fuzz
@given(
    records=st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "record_id": st.one_of(odd_text, odd_number, st.just("r" * 300)),
                "iccid": st.one_of(odd_text, odd_number, st.just("CARD")),
                "start": moments,
                "end": moments,
                "bytes": odd_number,
            },
        )
        | odd_json,
        max_size=5,
    )
)
def test_odd_records_are_reported_one_by_one_and_only_good_ones_are_stored(client, feed_card, records):
    for record in records:
        if isinstance(record, dict) and record.get("iccid") == "CARD":
            record["iccid"] = feed_card.iccid
    body = json.dumps({"records": records}).encode()
    records_before = UsageRecord.objects.count()
    remaining_before = feed_card.data_remaining

    response = client.generic(
        "POST", FEED_URL, data=body, content_type="application/json", **feed_headers(body)
    )

    assert response.status_code == 200, response.content[:300]
    result = response.json()
    assert result["received"] == len(records)
    assert UsageRecord.objects.count() == records_before + result["applied"]
    for failure in result["failed"]:
        assert failure["message"]
    feed_card.refresh_from_db()
    assert 0 <= feed_card.data_remaining <= remaining_before


def test_a_stale_signature_is_refused(client):
    body = b'{"records": []}'
    stale = int((timezone.now() - timedelta(minutes=6)).timestamp())

    response = client.generic(
        "POST", FEED_URL, data=body, content_type="application/json", **feed_headers(body, timestamp=stale)
    )

    assert_clear_refusal(response, 401)


def test_a_huge_usage_batch_is_refused_before_it_is_read(client):
    body = b'{"records": [' + b'{"record_id": "x"},' * 20_000 + b"{}]}"

    response = client.generic(
        "POST", FEED_URL, data=body, content_type="application/json", **feed_headers(body)
    )

    assert_clear_refusal(response, 413)
    assert "smaller batches" in response.json()["message"]
    assert UsageRecord.objects.count() == 0
