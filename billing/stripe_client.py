"""The only place that talks to Stripe, through the official client.

Tests set settings.STRIPE_API_BASE to a local fake Stripe server; the real client talks to it over HTTP.
"""

import hashlib
import json
from datetime import timedelta
from functools import lru_cache

import stripe
from django.conf import settings
from django.utils.crypto import salted_hmac

from billing.models import Order
from billing.presenters import order_plan_name

# Stripe allows 30 minutes to 24 hours; a short window frees a promo slot held by an abandoned checkout.
CHECKOUT_SESSION_LIFETIME = timedelta(hours=1)

# Checkout's own locale codes; anything else lets Checkout follow the browser.
CHECKOUT_LOCALES = {"en": "en", "fr": "fr", "it": "it", "zh-hans": "zh", "zh": "zh"}

# Errors worth another attempt later (network, Stripe overloaded); the rest will not heal by waiting.
TRANSIENT_ERRORS = (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError)


@lru_cache(maxsize=4)
def _client(api_key: str, api_base: str, api_version: str) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        # Pinned: objects come back in the shapes this code was written for, whatever the
        # account's default version or the installed library's.
        stripe_version=api_version,
        base_addresses={"api": api_base} if api_base else None,
        max_network_retries=2,
    )


def stripe_client() -> stripe.StripeClient:
    return _client(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE, settings.STRIPE_API_VERSION)


def key_is_live() -> bool:
    """Whether the configured secret (or restricted) key is a live-mode key; demo mode is test mode."""
    return settings.STRIPE_SECRET_KEY.startswith(("sk_live_", "rk_live_"))


def installation_prefix() -> str:
    """Starts every idempotency key, so two installations (or one whose database was reset) that
    share a Stripe account never send each other's keys."""
    if settings.STRIPE_IDEMPOTENCY_PREFIX:
        return settings.STRIPE_IDEMPOTENCY_PREFIX
    database = settings.DATABASES["default"]
    identity = f"{settings.SITE_URL}|{database.get('HOST', '')}|{database['NAME']}"
    return "portal-" + salted_hmac("stripe-idempotency-prefix", identity).hexdigest()[:12]


def idempotency_key(*, purpose: str, object_id: int, params: dict) -> str:
    """A key for exactly this request: which installation, what for, which row, which parameters.

    Stripe keeps the first answer to a key for 24 hours, 500s included, and refuses the key with
    other parameters. A retry of the same request (same row, same parameters) gets the same key and
    so the same object; a changed request (a new name, another amount) gets a new key.
    """
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:20]
    return f"{installation_prefix()}-{purpose}-{object_id}-{digest}"


def _create_options(*, purpose: str, object_id: int, params: dict) -> dict:
    return {"idempotency_key": idempotency_key(purpose=purpose, object_id=object_id, params=params)}


def object_id(value) -> str | None:
    """Stripe fields hold an id or, when expanded, the object."""
    if isinstance(value, dict):
        return value.get("id")
    return value or None


def portal_metadata(order: Order) -> dict[str, str]:
    """What the portal writes on every Stripe object it makes for an order. Stripe copies a
    PaymentIntent's metadata to its charge, so any event about the payment leads back here; the
    installation marks it as ours and not another installation's sharing the account."""
    return {
        "order_id": str(order.pk),
        "order_number": order.number or "",
        "installation": installation_prefix(),
    }


def checkout_locale(language: str) -> str:
    return CHECKOUT_LOCALES.get((language or "").lower(), "auto")


def customer_create(*, user, order: Order) -> str:
    """A Stripe customer for this user, so Checkout shows their email and phone and can save a method.

    Created while checking out `order`: a failed checkout closes its order, so a traveller who
    tries again (perhaps with a corrected name) sends a request with a key of its own.
    """
    params = {"metadata": {"user_id": str(user.pk)}, "preferred_locales": [checkout_locale(user.language)]}
    if user.email:
        params["email"] = user.email
    if user.phone:
        params["phone"] = user.phone
    if user.name:
        params["name"] = user.name
    customer = stripe_client().v1.customers.create(
        params=params,
        options=_create_options(purpose="customer-for-order", object_id=order.pk, params=params),
    )
    return customer.id


def customer_delete(*, customer_id: str) -> None:
    """Delete a Stripe customer with its saved payment methods (its payments stay on record).

    Idempotent: a customer already gone counts as deleted.
    """
    try:
        stripe_client().v1.customers.delete(customer_id)
    except stripe.InvalidRequestError as error:
        if error.code != "resource_missing":
            raise


def checkout_session_create(*, order: Order, success_url: str, cancel_url: str) -> stripe.checkout.Session:
    """A Checkout Session in payment mode for exactly the order's snapshot amount.

    No payment_method_types: Checkout offers what is enabled on the account (card, Alipay, WeChat
    Pay, PayPal, Apple/Google Pay...). Saving is asked per method, so Alipay and WeChat Pay, which
    cannot be saved, stay on offer to customers who opted in to auto-renew.
    """
    metadata = portal_metadata(order)
    params = {
        "mode": "payment",
        "client_reference_id": str(order.pk),
        "metadata": metadata,
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": order.currency.lower(),
                    "unit_amount": order.amount_charged_cents,
                    "product_data": {
                        "name": order_plan_name(order, order.language).text,
                        "metadata": {"plan_code": order.plan_code},
                    },
                },
            }
        ],
        "payment_intent_data": {"metadata": metadata, "description": f"{order.number} {order.plan_name}"},
        "success_url": success_url,
        "cancel_url": cancel_url,
        "locale": checkout_locale(order.language),
        # Derived from the order, not the clock, so a retried call sends identical parameters.
        "expires_at": int((order.created_at + CHECKOUT_SESSION_LIFETIME).timestamp()),
    }
    if order.renew_link_id is not None:
        pass  # paid by the link's holder: no saved methods, no owner's email in the form
    elif order.stripe_customer_id:
        params["customer"] = order.stripe_customer_id
    elif order.customer_email:
        params["customer_email"] = order.customer_email
    # Stripe's WeChat Pay guide for Checkout: the customer pays from a web browser. Ignored when
    # WeChat Pay is not enabled on the account.
    params["payment_method_options"] = {"wechat_pay": {"client": "web"}}
    if order.save_payment_method:
        params["payment_method_options"]["card"] = {"setup_future_usage": "off_session"}
        params["payment_method_options"]["paypal"] = {"setup_future_usage": "off_session"}
    return stripe_client().v1.checkout.sessions.create(
        params=params, options=_create_options(purpose="checkout-session", object_id=order.pk, params=params)
    )


def checkout_session_retrieve(session_id: str) -> stripe.checkout.Session:
    return stripe_client().v1.checkout.sessions.retrieve(session_id)


def checkout_session_expire(session_id: str) -> stripe.checkout.Session:
    return stripe_client().v1.checkout.sessions.expire(session_id)


def payment_intent_retrieve(payment_intent_id: str) -> stripe.PaymentIntent:
    return stripe_client().v1.payment_intents.retrieve(
        payment_intent_id, params={"expand": ["latest_charge", "payment_method"]}
    )


def payment_intent_create_off_session(
    *, order: Order, customer_id: str, payment_method_id: str
) -> stripe.PaymentIntent:
    """Charges a saved card or PayPal account without the customer present (auto-renewal)."""
    metadata = portal_metadata(order)
    params = {
        "amount": order.amount_charged_cents,
        "currency": order.currency.lower(),
        "customer": customer_id,
        "payment_method": payment_method_id,
        "off_session": True,
        "confirm": True,
        "metadata": metadata,
        "description": f"{order.number} {order.plan_name}",
    }
    return stripe_client().v1.payment_intents.create(
        params=params,
        options=_create_options(purpose="off-session-payment", object_id=order.pk, params=params),
    )


def refund_create(*, refund, order: Order) -> stripe.Refund:
    """Asks Stripe to refund a (requested) refund row to the order's payment method.

    The metadata names the row, so the refund.* events that may arrive before this call returns
    find it; the key is the row's, so sending it again gets the same refund back.
    """
    params = {
        "payment_intent": order.stripe_payment_intent_id,
        "amount": refund.amount_cents,
        "metadata": {**portal_metadata(order), "refund_id": str(refund.pk)},
    }
    return stripe_client().v1.refunds.create(
        params=params, options=_create_options(purpose="refund", object_id=refund.pk, params=params)
    )


def refunds_for_charge(charge_id: str) -> list[stripe.Refund]:
    return list(stripe_client().v1.refunds.list(params={"charge": charge_id, "limit": 100}).data)
