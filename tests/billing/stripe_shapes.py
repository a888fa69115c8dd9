"""Stripe objects for tests, built from Stripe's own OpenAPI fixtures (stripe_fixtures/SOURCES.md).

Each builder starts from the fixture of its resource, unchanged, and sets what a test names (ids,
amounts, statuses, links). The few fields our integration always has differently from the generic
fixture are changed here once, each with the reason. The fake Stripe server and the tests' event
bodies both use these builders, so neither invents a shape.
"""

from __future__ import annotations

import copy
import itertools
import json
import time
from functools import cache
from pathlib import Path
from typing import Any

API_VERSION = "2026-10-28.endive"
FIXTURES = Path(__file__).with_name("stripe_fixtures")

_sequence = itertools.count(1)


@cache
def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def fixture(name: str) -> dict:
    """A fresh copy of Stripe's fixture for one resource (charge, refund, dispute, ...)."""
    return copy.deepcopy(_fixture(name))


def new_id(prefix: str) -> str:
    """An id in Stripe's style (`re_3Qx…`), unique within the test run."""
    return f"{prefix}_3Test{time.time_ns() % 10**12:012d}{next(_sequence):06d}"


def _now() -> int:
    return int(time.time())


def payment_method_details(method_type: str, *, wallet: str | None = None) -> dict:
    """`payment_method_details` of a charge. Card details are the fixture's; a card paid through
    Apple Pay or Google Pay names the wallet in `card.wallet.type`."""
    if method_type == "card":
        card = fixture("charge")["payment_method_details"]["card"]
        card["wallet"] = {"dynamic_last4": "4242", "type": wallet} if wallet else None
        return {"card": card, "type": "card"}
    # The fixtures carry card details only; other methods have their own (smaller) sub-object.
    return {method_type: {}, "type": method_type}


def charge(
    *,
    amount: int,
    payment_intent: str | None,
    currency: str = "eur",
    metadata: dict | None = None,
    customer: str | None = None,
    method_type: str = "card",
    wallet: str | None = None,
    charge_id: str | None = None,
    **fields: Any,
) -> dict:
    obj = fixture("charge")
    # API 2022-11-15 and later: a charge no longer includes its refunds unless expanded.
    del obj["refunds"]
    obj.update(
        id=charge_id or new_id("ch"),
        amount=amount,
        amount_captured=amount,
        captured=True,
        currency=currency,
        created=_now(),
        customer=customer,
        description=None,
        payment_intent=payment_intent,
        payment_method=new_id("pm"),
        payment_method_details=payment_method_details(method_type, wallet=wallet),
        # Stripe copies the PaymentIntent's metadata to the charge it creates.
        metadata=dict(metadata or {}),
        # A PaymentIntent's charge has a payment method, not a legacy source.
        source=None,
        transfer_data=None,
        billing_details=fixture("charge")["billing_details"],
    )
    obj.update(fields)
    return obj


def refund(
    *,
    amount: int,
    charge_id: str,
    payment_intent: str | None,
    currency: str = "eur",
    status: str = "succeeded",
    metadata: dict | None = None,
    reason: str | None = None,
    failure_reason: str | None = None,
    pending_reason: str | None = None,
    refund_id: str | None = None,
    **fields: Any,
) -> dict:
    obj = fixture("refund")
    obj.update(
        id=refund_id or new_id("re"),
        amount=amount,
        charge=charge_id,
        payment_intent=payment_intent,
        currency=currency,
        created=_now(),
        status=status,
        metadata=dict(metadata or {}),
        reason=reason,
        balance_transaction=new_id("txn"),
    )
    if status == "failed":
        obj["failure_reason"] = failure_reason or "unknown"
        obj["failure_balance_transaction"] = new_id("txn")
    if status == "pending":
        obj["pending_reason"] = pending_reason or "processing"
    obj.update(fields)
    return obj


def refund_moved(refund_object: dict, *, status: str, failure_reason: str | None = None) -> dict:
    """The same refund after Stripe moved it on (pending → succeeded, succeeded → failed, ...)."""
    moved = copy.deepcopy(refund_object)
    moved["status"] = status
    moved.pop("pending_reason", None)
    if status == "failed":
        moved["failure_reason"] = failure_reason or "expired_or_canceled_card"
        moved["failure_balance_transaction"] = new_id("txn")
    return moved


DISPUTE_OPEN = ("warning_needs_response", "warning_under_review", "needs_response", "under_review")


def dispute(
    *,
    amount: int,
    charge_id: str,
    payment_intent: str | None,
    currency: str = "eur",
    status: str = "needs_response",
    reason: str = "fraudulent",
    is_charge_refundable: bool = False,
    dispute_id: str | None = None,
    **fields: Any,
) -> dict:
    obj = fixture("dispute")
    obj.update(
        id=dispute_id or new_id("dp"),
        amount=amount,
        charge=charge_id,
        payment_intent=payment_intent,
        currency=currency,
        created=_now(),
        status=status,
        reason=reason,
        is_charge_refundable=is_charge_refundable,
        balance_transactions=[],
    )
    # Inquiries (warning_*) are not chargebacks yet; the fixture is an inquiry.
    obj["payment_method_details"]["card"]["case_type"] = (
        "inquiry" if status.startswith("warning_") else "chargeback"
    )
    obj.update(fields)
    return obj


def _dispute_balance_transaction(dispute_object: dict, *, withdrawal: bool) -> dict:
    amount = -dispute_object["amount"] if withdrawal else dispute_object["amount"]
    fee = 1500 if withdrawal else -1500
    transaction = fixture("balance_transaction")
    transaction.update(
        id=new_id("txn"),
        amount=amount,
        currency=dispute_object["currency"],
        created=_now(),
        available_on=_now(),
        description=f"Chargeback {'withdrawal' if withdrawal else 'reversal'} for {dispute_object['charge']}",
        fee=fee,
        net=amount - fee,
        reporting_category="dispute" if withdrawal else "dispute_reversal",
        source=dispute_object["id"],
        type="adjustment",
    )
    return transaction


def dispute_moved(
    dispute_object: dict,
    *,
    status: str | None = None,
    funds_withdrawn: bool = False,
    funds_reinstated: bool = False,
    is_charge_refundable: bool | None = None,
) -> dict:
    """The same dispute later on: its status, and the balance transactions Stripe has added."""
    moved = copy.deepcopy(dispute_object)
    if status is not None:
        moved["status"] = status
    if is_charge_refundable is not None:
        moved["is_charge_refundable"] = is_charge_refundable
    categories = [item["reporting_category"] for item in moved["balance_transactions"]]
    if funds_withdrawn and "dispute" not in categories:
        moved["balance_transactions"].append(_dispute_balance_transaction(moved, withdrawal=True))
    if funds_reinstated and "dispute_reversal" not in categories:
        moved["balance_transactions"].append(_dispute_balance_transaction(moved, withdrawal=False))
    if moved["status"] not in DISPUTE_OPEN:
        moved["is_charge_refundable"] = False
    return moved


def payment_method(
    *, method_type: str = "card", customer: str | None = None, wallet: str | None = None
) -> dict:
    obj = fixture("payment_method")
    obj.update(id=new_id("pm"), type=method_type, customer=customer, created=_now(), metadata={})
    if method_type == "card":
        obj["card"]["wallet"] = {"dynamic_last4": "4242", "type": wallet} if wallet else None
    else:
        del obj["card"]
        obj[method_type] = {}
    return obj


def payment_intent(
    *,
    amount: int,
    currency: str = "eur",
    status: str = "succeeded",
    metadata: dict | None = None,
    customer: str | None = None,
    latest_charge: str | dict | None = None,
    payment_method_object: str | dict | None = None,
    intent_id: str | None = None,
    **fields: Any,
) -> dict:
    obj = fixture("payment_intent")
    obj.update(
        id=intent_id or new_id("pi"),
        amount=amount,
        amount_received=amount if status == "succeeded" else 0,
        currency=currency,
        status=status,
        metadata=dict(metadata or {}),
        customer=customer,
        latest_charge=latest_charge,
        payment_method=payment_method_object,
        created=_now(),
        canceled_at=None,
        last_payment_error=None,
        next_action=None,
        processing=None,
        client_secret=None,
    )
    obj.update(fields)
    return obj


def checkout_session(
    *,
    amount_total: int,
    currency: str = "eur",
    status: str = "open",
    payment_status: str = "unpaid",
    metadata: dict | None = None,
    client_reference_id: str | None = None,
    payment_intent: str | None = None,
    customer: str | None = None,
    session_id: str | None = None,
    **fields: Any,
) -> dict:
    obj = fixture("checkout.session")
    session_id = session_id or new_id("cs_test")
    obj.update(
        id=session_id,
        amount_subtotal=amount_total,
        amount_total=amount_total,
        currency=currency,
        status=status,
        payment_status=payment_status,
        metadata=dict(metadata or {}),
        client_reference_id=client_reference_id,
        payment_intent=payment_intent,
        customer=customer,
        created=_now(),
        url=f"https://checkout.stripe.com/c/pay/{session_id}" if status == "open" else None,
        # Fixture values that would name things we never asked for.
        shipping_address_collection=None,
        shipping_cost=None,
        total_details={"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        currency_conversion=None,
        invoice_creation={
            "enabled": False,
            "invoice_data": fixture("checkout.session")["invoice_creation"]["invoice_data"],
        },
    )
    obj.update(fields)
    return obj


def event(
    event_type: str,
    obj: dict,
    *,
    event_id: str | None = None,
    created: int | None = None,
    livemode: bool = False,
    previous_attributes: dict | None = None,
    api_version: str = API_VERSION,
) -> dict:
    body = fixture("event")
    body.update(
        id=event_id or new_id("evt"),
        api_version=api_version,
        created=created if created is not None else _now(),
        livemode=livemode,
        pending_webhooks=1,
        type=event_type,
        data={"object": obj},
    )
    if previous_attributes is not None:
        body["data"]["previous_attributes"] = previous_attributes
    return body
