"""A local fake of the few Stripe API endpoints the portal calls, on 127.0.0.1.

The real `stripe` client talks to it over HTTP (settings.STRIPE_API_BASE), so requests are encoded,
sent, parsed and answered exactly as with Stripe: nothing inside the client is patched. Objects are
built by tests/billing/stripe_shapes.py from Stripe's OpenAPI fixtures (stripe_fixtures/), ids and
amounts set; linked objects are ids unless the request expands them, and idempotency keys behave
as Stripe documents (the first result is saved, 500s included; other parameters get a 400).
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from tests.billing import stripe_shapes

API_KEY = "sk_test_fake_portal"
WEBHOOK_SECRET = "whsec_test_fake_portal"


@dataclass
class Call:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]


@dataclass
class FakeStripeState:
    calls: list[Call] = field(default_factory=list)
    customers: dict[str, dict] = field(default_factory=dict)
    sessions: dict[str, dict] = field(default_factory=dict)
    payment_intents: dict[str, dict] = field(default_factory=dict)
    charges: dict[str, dict] = field(default_factory=dict)
    payment_methods: dict[str, dict] = field(default_factory=dict)
    refunds: dict[str, dict] = field(default_factory=dict)
    disputes: dict[str, dict] = field(default_factory=dict)
    idempotent: dict[tuple[str, str], tuple[int, dict, str]] = field(default_factory=dict)
    # What the next off-session PaymentIntent does: "succeeded", "card_declined",
    # "authentication_required" or "processing".
    off_session_outcome: str = "succeeded"
    # The status a refund created through the API starts in ("pending" for methods that settle later).
    refund_status: str = "succeeded"
    # Make every call answer 500 (Stripe down) when set; or only the next `fail_next` calls.
    fail_all: bool = False
    fail_next: int = 0
    # How the saved payment method looks: "card" or "paypal" (or "alipay", which cannot be saved).
    payment_method_type: str = "card"
    # A card payment made through a wallet ("apple_pay", "google_pay"), or None.
    card_wallet: str | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            for store in (
                self.customers,
                self.sessions,
                self.payment_intents,
                self.charges,
                self.payment_methods,
                self.refunds,
                self.disputes,
                self.idempotent,
            ):
                store.clear()
            self.off_session_outcome = "succeeded"
            self.refund_status = "succeeded"
            self.fail_all = False
            self.fail_next = 0
            self.payment_method_type = "card"
            self.card_wallet = None

    def calls_to(self, method: str, path_pattern: str) -> list[Call]:
        return [
            call for call in self.calls if call.method == method and re.fullmatch(path_pattern, call.path)
        ]

    # --- helpers tests use to move Stripe's side along ---------------------------------------

    def session_pay(self, session_id: str, *, payment_status: str = "paid") -> dict:
        """The customer paid on Checkout: the session completes and gets a PaymentIntent and charge."""
        with self.lock:
            session = self.sessions[session_id]
            intent = self._intent_for_session(session)
            session.update(
                status="complete", payment_status=payment_status, payment_intent=intent["id"], url=None
            )
            if not session.get("customer"):
                session["customer"] = intent["customer"]
            return _public(session)

    def checkout_session_add(
        self, *, session_id: str, amount_total: int, currency: str, metadata: dict, client_reference_id: str
    ) -> dict:
        """A session as if the portal had created it through the API (for tests that build orders
        without going through Checkout)."""
        with self.lock:
            session = stripe_shapes.checkout_session(
                session_id=session_id,
                amount_total=amount_total,
                currency=currency,
                metadata=metadata,
                client_reference_id=client_reference_id,
            )
            session["_saves_method"] = False
            session["_params"] = {"metadata": metadata, "payment_intent_data": {"metadata": metadata}}
            self.sessions[session_id] = session
            return _public(session)

    def charge_of(self, payment_intent_id: str) -> dict:
        """The PaymentIntent's charge, as Stripe holds it now."""
        with self.lock:
            return copy.deepcopy(self._charge(payment_intent_id))

    def _charge(self, payment_intent_id: str) -> dict:
        intent = self.payment_intents[payment_intent_id]
        charge_id = _id_of(intent["latest_charge"])
        if charge_id not in self.charges:
            # A test stored a bare PaymentIntent: give its charge the full shape.
            self.charges[charge_id] = stripe_shapes.charge(
                charge_id=charge_id,
                amount=intent["amount"],
                currency=intent["currency"],
                payment_intent=intent["id"],
                metadata=intent.get("metadata") or {},
            )
        return self.charges[charge_id]

    def refund_in_dashboard(self, payment_intent_id: str, amount: int, *, status: str = "succeeded") -> dict:
        """Someone refunds in the Stripe Dashboard: a refund without the portal's metadata."""
        with self.lock:
            return self._refund_create(payment_intent_id, amount, status=status, metadata={})

    def refund_move(self, refund_id: str, *, status: str, failure_reason: str | None = None) -> dict:
        """Stripe moves a refund on (pending → succeeded or failed; succeeded → failed)."""
        with self.lock:
            refund = self.refunds[refund_id] = stripe_shapes.refund_moved(
                self.refunds[refund_id], status=status, failure_reason=failure_reason
            )
            self._charge_totals(refund["charge"])
            return copy.deepcopy(refund)

    def dispute_open(
        self, payment_intent_id: str, *, status: str = "needs_response", is_charge_refundable: bool = False
    ) -> dict:
        """The customer's bank disputes the payment."""
        with self.lock:
            charge = self._charge(payment_intent_id)
            dispute = stripe_shapes.dispute(
                amount=charge["amount"] - charge["amount_refunded"],
                charge_id=charge["id"],
                payment_intent=payment_intent_id,
                currency=charge["currency"],
                status=status,
                is_charge_refundable=is_charge_refundable,
                dispute_id=f"dp_fake{next(_ids)}",
            )
            self.disputes[dispute["id"]] = dispute
            charge["disputed"] = True
            return copy.deepcopy(dispute)

    def dispute_move(self, dispute_id: str, **changes) -> dict:
        """The dispute moves on: see stripe_shapes.dispute_moved for the changes."""
        with self.lock:
            dispute = self.disputes[dispute_id] = stripe_shapes.dispute_moved(
                self.disputes[dispute_id], **changes
            )
            return copy.deepcopy(dispute)

    def _intent_for_session(self, session: dict) -> dict:
        number = next(_ids)
        customer = session.get("customer") or f"cus_fake{number}"
        method_type = self.payment_method_type
        method = stripe_shapes.payment_method(
            method_type=method_type,
            customer=customer if session.get("_saves_method") and method_type in ("card", "paypal") else None,
            wallet=self.card_wallet,
        )
        method["id"] = f"pm_fake{number}"
        if method_type == "paypal":
            method["paypal"] = {"payer_email": "payer@example.com", "payer_id": "PAYER1", "country": "FR"}
        metadata = (session["_params"].get("payment_intent_data") or {}).get("metadata", {})
        intent_id = f"pi_fake{number}"
        charge = stripe_shapes.charge(
            charge_id=f"ch_fake{number}",
            amount=session["amount_total"],
            currency=session["currency"],
            payment_intent=intent_id,
            metadata=metadata,
            customer=customer,
            method_type=method_type,
            wallet=self.card_wallet,
            payment_method=method["id"],
        )
        intent = stripe_shapes.payment_intent(
            intent_id=intent_id,
            amount=session["amount_total"],
            currency=session["currency"],
            customer=customer,
            metadata=metadata,
            latest_charge=charge["id"],
            payment_method_object=method["id"],
            payment_method_types=[method_type],
        )
        self.payment_methods[method["id"]] = method
        self.charges[charge["id"]] = charge
        self.payment_intents[intent["id"]] = intent
        return intent

    def _refund_create(
        self, payment_intent_id: str, amount: int | None, *, status: str, metadata: dict
    ) -> dict:
        intent = self.payment_intents[payment_intent_id]
        charge = self._charge(payment_intent_id)
        amount = charge["amount"] - charge["amount_refunded"] if amount is None else amount
        refund = stripe_shapes.refund(
            refund_id=f"re_fake{next(_ids)}",
            amount=amount,
            charge_id=charge["id"],
            payment_intent=intent["id"],
            currency=charge["currency"],
            status=status,
            metadata=metadata,
        )
        self.refunds[refund["id"]] = refund
        self._charge_totals(charge["id"])
        return copy.deepcopy(refund)

    def _charge_totals(self, charge_id: str) -> None:
        """What a charge says about its refunds: failed and canceled ones gave nothing back."""
        charge = self.charges[charge_id]
        refunded = sum(
            refund["amount"]
            for refund in self.refunds.values()
            if refund["charge"] == charge_id and refund["status"] not in ("failed", "canceled")
        )
        charge["amount_refunded"] = refunded
        charge["refunded"] = refunded >= charge["amount"]


def _id_of(value) -> str | None:
    return value.get("id") if isinstance(value, dict) else value


_ids = itertools.count(1000)


def _nest(params: dict[str, str]) -> dict:
    """Stripe's form encoding (a[b][0][c]=v) back into nested dicts and lists."""
    root: dict = {}
    for key, value in params.items():
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return _lists(root)


def _lists(node):
    if isinstance(node, dict):
        if node and all(key.isdigit() for key in node):
            return [_lists(node[key]) for key in sorted(node, key=int)]
        return {key: _lists(value) for key, value in node.items()}
    return node


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format, *args):
        pass

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", f"req_fake{next(_ids)}")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_DELETE(self):
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        state = self.server.state
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        pairs = parse_qsl(body if method == "POST" else url.query, keep_blank_values=True)
        params = dict(pairs)
        headers = {key.lower(): value for key, value in self.headers.items()}
        with state.lock:
            state.calls.append(Call(method, url.path, params, headers))
        if headers.get("authorization") != f"Bearer {API_KEY}":
            return self._answer(*_error(401, "Invalid API Key provided."))
        key = headers.get("idempotency-key")
        fingerprint = json.dumps(sorted(pairs))
        with state.lock:
            saved = state.idempotent.get((url.path, key)) if method == "POST" and key else None
        if saved is not None:
            status, answer, first_fingerprint = saved
            if first_fingerprint != fingerprint:
                # Stripe compares a retry's parameters with the first request's.
                return self._answer(
                    *_error(
                        400,
                        "Keys for idempotent requests can only be used with the same parameters they were "
                        f"first used with. Try using a key other than '{key}' if you meant to execute a "
                        "different request.",
                        type="idempotency_error",
                    )
                )
            return self._answer(status, answer)
        with state.lock:
            failing = state.fail_all or state.fail_next > 0
            state.fail_next = max(state.fail_next - 1, 0)
        if failing:
            status, answer = 500, {"error": {"message": "Stripe is having a bad day.", "type": "api_error"}}
        else:
            status, answer = self._route(method, url.path, _nest(params), _expansions(pairs))
        if method == "POST" and key:
            # Stripe saves the first result for a key, whatever it was (500s included).
            with state.lock:
                state.idempotent[(url.path, key)] = (status, answer, fingerprint)
        self._answer(status, answer)

    def _route(self, method: str, path: str, params: dict, expand: set[str]) -> tuple[int, dict]:
        state = self.server.state
        with state.lock:
            if method == "POST" and path == "/v1/customers":
                customer = {"id": f"cus_fake{next(_ids)}", "object": "customer", **params}
                state.customers[customer["id"]] = customer
                return 200, customer
            match = re.fullmatch(r"/v1/customers/([^/]+)", path)
            if match and method == "DELETE":
                if state.customers.pop(match.group(1), None) is None:
                    return _missing("customer", match.group(1))
                return 200, {"id": match.group(1), "object": "customer", "deleted": True}
            if method == "POST" and path == "/v1/checkout/sessions":
                return 200, self._session_create(params)
            match = re.fullmatch(r"/v1/checkout/sessions/([^/]+)(/expire)?", path)
            if match:
                session = state.sessions.get(match.group(1))
                if session is None:
                    return _missing("checkout.session", match.group(1))
                if match.group(2):
                    if session["status"] != "open":
                        return _error(
                            400, f"Only open sessions can be expired; this one is {session['status']}."
                        )
                    session.update(status="expired", url=None)
                return 200, _public(session)
            match = re.fullmatch(r"/v1/payment_intents/([^/]+)", path)
            if match and method == "GET":
                intent = state.payment_intents.get(match.group(1))
                if intent is None:
                    return _missing("payment_intent", match.group(1))
                return 200, self._expanded(intent, expand)
            if method == "POST" and path == "/v1/payment_intents":
                return self._off_session(params)
            if method == "POST" and path == "/v1/refunds":
                if params.get("payment_intent") not in state.payment_intents:
                    return _missing("payment_intent", params.get("payment_intent"))
                charge = state.charge_of(params["payment_intent"])
                amount = int(params["amount"]) if "amount" in params else None
                if amount is not None and amount > charge["amount"] - charge["amount_refunded"]:
                    return _error(
                        400,
                        f"Refund amount ({amount}) is greater than unrefunded amount on charge.",
                        code="amount_too_large",
                    )
                if charge.get("disputed") and not self._refundable_while_disputed(charge["id"]):
                    return _error(
                        400,
                        f"Charge {charge['id']} has been charged back; cannot issue a refund.",
                        code="charge_disputed",
                    )
                return 200, state._refund_create(
                    params["payment_intent"],
                    amount,
                    status=state.refund_status,
                    metadata=params.get("metadata", {}),
                )
            match = re.fullmatch(r"/v1/refunds/([^/]+)", path)
            if match and method == "GET":
                refund = state.refunds.get(match.group(1))
                return (200, refund) if refund else _missing("refund", match.group(1))
            if method == "GET" and path == "/v1/refunds":
                data = [
                    refund for refund in state.refunds.values() if refund["charge"] == params.get("charge")
                ]
                data.sort(key=lambda refund: refund["created"], reverse=True)
                return 200, {"object": "list", "data": data, "has_more": False, "url": "/v1/refunds"}
        return _error(404, f"Unrecognized request URL ({method}: {path}).")

    def _refundable_while_disputed(self, charge_id: str) -> bool:
        state = self.server.state
        return all(
            dispute["is_charge_refundable"]
            for dispute in state.disputes.values()
            if dispute["charge"] == charge_id
        )

    def _expanded(self, intent: dict, expand: set[str]) -> dict:
        """A PaymentIntent as the API returns it: linked objects are ids unless expanded."""
        state = self.server.state
        intent = copy.deepcopy(intent)
        for name, store in (("latest_charge", state.charges), ("payment_method", state.payment_methods)):
            value = _id_of(intent.get(name))
            if name in expand and value in store:
                intent[name] = copy.deepcopy(store[value])
            elif name in expand and isinstance(intent.get(name), dict):
                pass  # a test stored the object itself
            else:
                intent[name] = value
        return intent

    def _session_create(self, params: dict) -> dict:
        state = self.server.state
        item = params["line_items"][0]
        options = params.get("payment_method_options") or {}
        session = stripe_shapes.checkout_session(
            session_id=f"cs_test_fake{next(_ids)}",
            amount_total=int(item["price_data"]["unit_amount"]) * int(item["quantity"]),
            currency=item["price_data"]["currency"],
            metadata=params.get("metadata", {}),
            client_reference_id=params.get("client_reference_id"),
            customer=params.get("customer"),
            customer_email=params.get("customer_email"),
            locale=params.get("locale"),
            mode=params["mode"],
            success_url=params["success_url"],
            cancel_url=params["cancel_url"],
            expires_at=int(params["expires_at"]),
            payment_method_types=["card", "alipay", "wechat_pay", "paypal"],
        )
        session["_saves_method"] = any(
            (option or {}).get("setup_future_usage") == "off_session" for option in options.values()
        )
        session["_params"] = params
        state.sessions[session["id"]] = session
        return _public(session)

    def _off_session(self, params: dict) -> tuple[int, dict]:
        state = self.server.state
        number = next(_ids)
        outcome = state.off_session_outcome
        intent_id = f"pi_fake{number}"
        charge = stripe_shapes.charge(
            charge_id=f"ch_fake{number}",
            amount=int(params["amount"]),
            currency=params["currency"],
            payment_intent=intent_id,
            metadata=params.get("metadata", {}),
            customer=params["customer"],
            payment_method=params["payment_method"],
        )
        method = state.payment_methods.get(params["payment_method"]) or stripe_shapes.payment_method(
            customer=params["customer"]
        )
        method["id"] = params["payment_method"]
        state.payment_methods[method["id"]] = method
        intent = stripe_shapes.payment_intent(
            intent_id=intent_id,
            amount=int(params["amount"]),
            currency=params["currency"],
            customer=params["customer"],
            metadata=params.get("metadata", {}),
            latest_charge=charge["id"],
            payment_method_object=method["id"],
        )
        if outcome in ("card_declined", "authentication_required"):
            intent["status"] = "requires_payment_method" if outcome == "card_declined" else "requires_action"
            intent["amount_received"] = 0
            error = {
                "type": "card_error",
                "code": outcome,
                "decline_code": "generic_decline" if outcome == "card_declined" else None,
                "message": "Your card was declined."
                if outcome == "card_declined"
                else "This payment requires authentication.",
            }
            intent["last_payment_error"] = dict(error)
            state.payment_intents[intent["id"]] = intent
            return 402, {"error": {**error, "payment_intent": self._expanded(intent, set())}}
        if outcome == "processing":
            intent["status"] = "processing"
            intent["amount_received"] = 0
        else:
            state.charges[charge["id"]] = charge
        state.payment_intents[intent["id"]] = intent
        return 200, self._expanded(intent, set())


def _error(status: int, message: str, *, type: str = "invalid_request_error", **extra) -> tuple[int, dict]:
    return status, {"error": {"message": message, "type": type, **extra}}


def _missing(kind: str, object_id) -> tuple[int, dict]:
    return _error(404, f"No such {kind}: '{object_id}'", code="resource_missing")


def _expansions(pairs: list[tuple[str, str]]) -> set[str]:
    return {value for key, value in pairs if re.fullmatch(r"expand\[\d*\]", key)}


def _public(session: dict) -> dict:
    return {key: value for key, value in session.items() if not key.startswith("_")}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: FakeStripeState):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


class FakeStripe:
    def __init__(self) -> None:
        self.state = FakeStripeState()
        self.server = _Server(self.state)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeStripe:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
