"""A local fake of the few Stripe API endpoints the portal calls, on 127.0.0.1.

The real `stripe` client talks to it over HTTP (settings.STRIPE_API_BASE), so requests are encoded,
sent, parsed and answered exactly as with Stripe: nothing inside the client is patched. Objects have
the shapes of Stripe's OpenAPI fixtures, trimmed to the fields the portal reads.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

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
    refunds: dict[str, dict] = field(default_factory=dict)
    idempotent: dict[tuple[str, str], tuple[int, dict]] = field(default_factory=dict)
    # What the next off-session PaymentIntent does: "succeeded", "card_declined",
    # "authentication_required" or "processing".
    off_session_outcome: str = "succeeded"
    # Make every call answer 500 (Stripe down) when set.
    fail_all: bool = False
    # How the saved payment method looks: "card" or "paypal" (or "alipay", which cannot be saved).
    payment_method_type: str = "card"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self.customers.clear()
            self.sessions.clear()
            self.payment_intents.clear()
            self.refunds.clear()
            self.idempotent.clear()
            self.off_session_outcome = "succeeded"
            self.fail_all = False
            self.payment_method_type = "card"

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
            session.update(status="complete", payment_status=payment_status, payment_intent=intent["id"])
            if not session.get("customer"):
                session["customer"] = intent["customer"]
            return dict(session)

    def _intent_for_session(self, session: dict) -> dict:
        number = next(_ids)
        customer = session.get("customer") or f"cus_fake{number}"
        method_type = self.payment_method_type
        method = {
            "id": f"pm_fake{number}",
            "object": "payment_method",
            "type": method_type,
            "customer": customer
            if session.get("_saves_method") and method_type in ("card", "paypal")
            else None,
            "card": {"brand": "visa", "last4": "4242", "wallet": None} if method_type == "card" else None,
            "paypal": {"payer_email": "payer@example.com"} if method_type == "paypal" else None,
        }
        charge = {
            "id": f"ch_fake{number}",
            "object": "charge",
            "amount": session["amount_total"],
            "amount_refunded": 0,
            "currency": session["currency"],
            "payment_intent": f"pi_fake{number}",
            "payment_method_details": {"type": method_type, method_type: {}},
            "refunded": False,
        }
        intent = {
            "id": f"pi_fake{number}",
            "object": "payment_intent",
            "amount": session["amount_total"],
            "currency": session["currency"],
            "customer": customer,
            "status": "succeeded",
            "latest_charge": charge,
            "payment_method": method,
            "metadata": session.get("metadata", {}),
        }
        self.payment_intents[intent["id"]] = intent
        return intent


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

    def _error(self, status: int, message: str, **extra) -> None:
        self._answer(status, {"error": {"message": message, "type": "invalid_request_error", **extra}})

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
        params = dict(parse_qsl(body if method == "POST" else url.query, keep_blank_values=True))
        headers = {key.lower(): value for key, value in self.headers.items()}
        with state.lock:
            state.calls.append(Call(method, url.path, params, headers))
        if headers.get("authorization") != f"Bearer {API_KEY}":
            return self._error(401, "Invalid API Key provided.")
        if state.fail_all:
            return self._answer(
                500, {"error": {"message": "Stripe is having a bad day.", "type": "api_error"}}
            )
        key = headers.get("idempotency-key")
        if method == "POST" and key and (url.path, key) in state.idempotent:
            return self._answer(*state.idempotent[(url.path, key)])
        status, answer = self._route(method, url.path, _nest(params))
        if method == "POST" and key and status < 500:
            state.idempotent[(url.path, key)] = (status, answer)
        self._answer(status, answer)

    def _route(self, method: str, path: str, params: dict) -> tuple[int, dict]:
        state = self.server.state
        with state.lock:
            if method == "POST" and path == "/v1/customers":
                customer = {"id": f"cus_fake{next(_ids)}", "object": "customer", **params}
                state.customers[customer["id"]] = customer
                return 200, customer
            match = re.fullmatch(r"/v1/customers/([^/]+)", path)
            if match and method == "DELETE":
                if state.customers.pop(match.group(1), None) is None:
                    return 404, {
                        "error": {
                            "message": f"No such customer: '{match.group(1)}'",
                            "type": "invalid_request_error",
                            "code": "resource_missing",
                        }
                    }
                return 200, {"id": match.group(1), "object": "customer", "deleted": True}
            if method == "POST" and path == "/v1/checkout/sessions":
                return 200, self._session_create(params)
            match = re.fullmatch(r"/v1/checkout/sessions/([^/]+)(/expire)?", path)
            if match:
                session = state.sessions.get(match.group(1))
                if session is None:
                    return 404, {
                        "error": {"message": "No such checkout.session", "type": "invalid_request_error"}
                    }
                if match.group(2):
                    if session["status"] != "open":
                        return 400, {
                            "error": {
                                "message": f"Only open sessions can be expired; this one is {session['status']}.",
                                "type": "invalid_request_error",
                            }
                        }
                    session["status"] = "expired"
                return 200, _public(session)
            match = re.fullmatch(r"/v1/payment_intents/([^/]+)", path)
            if match and method == "GET":
                intent = state.payment_intents.get(match.group(1))
                if intent is None:
                    return 404, {
                        "error": {"message": "No such payment_intent", "type": "invalid_request_error"}
                    }
                return 200, intent
            if method == "POST" and path == "/v1/payment_intents":
                return self._off_session(params)
            if method == "POST" and path == "/v1/refunds":
                intent = state.payment_intents.get(params.get("payment_intent"))
                if intent is None:
                    return 400, {
                        "error": {"message": "No such payment_intent", "type": "invalid_request_error"}
                    }
                refund = {
                    "id": f"re_fake{next(_ids)}",
                    "object": "refund",
                    "amount": int(params["amount"]),
                    "charge": intent["latest_charge"]["id"],
                    "payment_intent": intent["id"],
                    "currency": intent["currency"],
                    "status": "succeeded",
                    "reason": None,
                    "created": int(time.time()),
                }
                state.refunds[refund["id"]] = refund
                return 200, refund
            if method == "GET" and path == "/v1/refunds":
                data = [
                    refund for refund in state.refunds.values() if refund["charge"] == params.get("charge")
                ]
                return 200, {"object": "list", "data": data, "has_more": False, "url": "/v1/refunds"}
        return 404, {
            "error": {
                "message": f"Unrecognized request URL ({method}: {path}).",
                "type": "invalid_request_error",
            }
        }

    def _session_create(self, params: dict) -> dict:
        state = self.server.state
        item = params["line_items"][0]
        session_id = f"cs_test_fake{next(_ids)}"
        options = params.get("payment_method_options") or {}
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": params["mode"],
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": int(item["price_data"]["unit_amount"]) * int(item["quantity"]),
            "currency": item["price_data"]["currency"],
            "client_reference_id": params.get("client_reference_id"),
            "metadata": params.get("metadata", {}),
            "customer": params.get("customer"),
            "customer_email": params.get("customer_email"),
            "locale": params.get("locale"),
            "success_url": params["success_url"],
            "cancel_url": params["cancel_url"],
            "expires_at": int(params["expires_at"]),
            "payment_intent": None,
            "url": f"https://checkout.stripe.com/c/pay/{session_id}",
            "livemode": False,
            "_saves_method": any(
                (option or {}).get("setup_future_usage") == "off_session" for option in options.values()
            ),
            "_params": params,
        }
        state.sessions[session_id] = session
        return _public(session)

    def _off_session(self, params: dict) -> tuple[int, dict]:
        state = self.server.state
        number = next(_ids)
        outcome = state.off_session_outcome
        intent = {
            "id": f"pi_fake{number}",
            "object": "payment_intent",
            "amount": int(params["amount"]),
            "currency": params["currency"],
            "customer": params["customer"],
            "payment_method": {"id": params["payment_method"], "object": "payment_method", "type": "card"},
            "metadata": params.get("metadata", {}),
            "status": "succeeded",
            "latest_charge": {
                "id": f"ch_fake{number}",
                "object": "charge",
                "payment_method_details": {"type": "card", "card": {}},
            },
            "last_payment_error": None,
        }
        if outcome in ("card_declined", "authentication_required"):
            intent["status"] = "requires_payment_method" if outcome == "card_declined" else "requires_action"
            error = {
                "type": "card_error",
                "code": outcome,
                "decline_code": "generic_decline" if outcome == "card_declined" else None,
                "message": "Your card was declined."
                if outcome == "card_declined"
                else "This payment requires authentication.",
                "payment_intent": intent,
            }
            intent["last_payment_error"] = {k: v for k, v in error.items() if k != "payment_intent"}
            state.payment_intents[intent["id"]] = intent
            return 402, {"error": error}
        if outcome == "processing":
            intent["status"] = "processing"
        state.payment_intents[intent["id"]] = intent
        return 200, intent


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
