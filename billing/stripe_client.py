"""The only place that talks to Stripe, through the official client.

Tests set settings.STRIPE_API_BASE to a local fake Stripe server; the real client talks to it over HTTP.
"""

from datetime import timedelta
from functools import lru_cache

import stripe
from django.conf import settings

from billing.models import Order

# Stripe allows 30 minutes to 24 hours; a short window frees a promo slot held by an abandoned checkout.
CHECKOUT_SESSION_LIFETIME = timedelta(hours=1)

# Checkout's own locale codes; anything else lets Checkout follow the browser.
CHECKOUT_LOCALES = {"en": "en", "fr": "fr", "it": "it", "zh-hans": "zh", "zh": "zh"}

# Errors worth another attempt later (network, Stripe overloaded); the rest will not heal by waiting.
TRANSIENT_ERRORS = (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError)


@lru_cache(maxsize=4)
def _client(api_key: str, api_base: str) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base} if api_base else None,
        max_network_retries=2,
    )


def stripe_client() -> stripe.StripeClient:
    return _client(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE)


def checkout_locale(language: str) -> str:
    return CHECKOUT_LOCALES.get((language or "").lower(), "auto")


def customer_create(*, user) -> str:
    """A Stripe customer for this user, so Checkout shows their email and phone and can save a method."""
    params = {"metadata": {"user_id": str(user.pk)}, "preferred_locales": [checkout_locale(user.language)]}
    if user.email:
        params["email"] = user.email
    if user.phone:
        params["phone"] = user.phone
    if user.name:
        params["name"] = user.name
    customer = stripe_client().v1.customers.create(
        params=params, options={"idempotency_key": f"customer-user-{user.pk}"}
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
    metadata = {"order_id": str(order.pk), "order_number": order.number}
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
                    "product_data": {"name": order.plan_name, "metadata": {"plan_code": order.plan_code}},
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
    if order.save_payment_method:
        params["payment_method_options"] = {
            "card": {"setup_future_usage": "off_session"},
            "paypal": {"setup_future_usage": "off_session"},
        }
    return stripe_client().v1.checkout.sessions.create(
        params=params, options={"idempotency_key": f"checkout-session-order-{order.pk}"}
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
    metadata = {"order_id": str(order.pk), "order_number": order.number}
    return stripe_client().v1.payment_intents.create(
        params={
            "amount": order.amount_charged_cents,
            "currency": order.currency.lower(),
            "customer": customer_id,
            "payment_method": payment_method_id,
            "off_session": True,
            "confirm": True,
            "metadata": metadata,
            "description": f"{order.number} {order.plan_name}",
        },
        options={"idempotency_key": f"off-session-order-{order.pk}"},
    )


def refund_create(*, order: Order, amount_cents: int, key: str) -> stripe.Refund:
    return stripe_client().v1.refunds.create(
        params={
            "payment_intent": order.stripe_payment_intent_id,
            "amount": amount_cents,
            "metadata": {"order_id": str(order.pk), "order_number": order.number},
        },
        options={"idempotency_key": key},
    )


def refunds_for_charge(charge_id: str) -> list[stripe.Refund]:
    return list(stripe_client().v1.refunds.list(params={"charge": charge_id, "limit": 100}).data)
