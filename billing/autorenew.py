"""Auto-renewal (DOMAIN.md "Orders and payment"): opt-in per card, wallet first, then an off-session
payment with the card or PayPal account saved at Checkout. A failure notifies once; never a retry loop.
"""

import logging
from datetime import datetime, timedelta
from typing import cast

import stripe
from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from billing import services, stripe_client
from billing.models import AutoRenewal, Order
from billing.renew_links import renew_link_url_for_notice
from billing.selectors import auto_renewals_due, wallet_balance_cents
from notices.models import Notification
from notices.services import notice_send
from plans.models import Plan
from portal.lib.display import format_gb, format_money
from usage.forecast import FORECAST_WINDOW_DAYS, RUNOUT_SOON, card_forecast
from usage.models import Card
from usage.selectors import usage_by_monaco_day

logger = logging.getLogger(__name__)

EXPIRY_WINDOW = timedelta(hours=24)
USED_FRACTION = 0.9

State = AutoRenewal.AttemptState


def auto_renewal_consent_general() -> str:
    return str(
        _(
            "I ask %(site)s to renew this card with the plan chosen above each time it is within 24 hours "
            "of expiry or has used 90%% of its data, paying first from my account credit and then with the "
            "card or PayPal account I saved for it. I am told by email or SMS after each renewal, and I can "
            "turn this off at any time on this page."
        )
        % {"site": settings.SITE_NAME}
    )


def auto_renewal_consent_runout() -> str:
    return str(
        _(
            "I also ask for it each time, at the pace I used data over the last 7 days, the card's data "
            "would run out within 24 hours."
        )
    )


def auto_renewal_consent_text(*, plan: Plan, on_runout: bool = False) -> str:
    """What is stored as consented: the words shown, and the plan and price they applied to."""
    plan_terms = _("Plan: %(plan)s, %(data)s, %(price)s per renewal.") % {
        "plan": plan.name,
        "data": format_gb(plan.data_bytes),
        "price": format_money(plan.price_cents, plan.currency),
    }
    runout = f" {auto_renewal_consent_runout()}" if on_runout else ""
    return f"{auto_renewal_consent_general()}{runout} {plan_terms}"


def auto_renewal_set(
    *,
    card: Card,
    user: User,
    plan: Plan | None,
    enabled: bool,
    consent_text: str,
    now: datetime,
    on_runout: bool = False,
) -> AutoRenewal:
    """Turn auto-renewal on (with the consent as shown) or off for one of the user's cards."""
    if card.owner_id != user.pk:
        raise services.BillingError(_("This card is not on your account."))
    if enabled and (plan is None or not plan.is_active):
        raise services.BillingError(_("Choose a plan that is on sale."))
    with transaction.atomic():
        auto_renewal = AutoRenewal.objects.select_for_update().filter(card=card).first()
        if auto_renewal is None:
            if not enabled:
                return AutoRenewal(
                    card=card, user=user, plan=plan or Plan.objects.filter(is_active=True).first()
                )
            auto_renewal = AutoRenewal(card=card, user=user, plan=plan)
        auto_renewal.user = user
        auto_renewal.enabled = enabled
        if enabled and plan is not None:
            auto_renewal.plan = plan
            auto_renewal.on_runout = on_runout
            auto_renewal.consent_text = consent_text
            auto_renewal.consented_at = now
        auto_renewal.updated_at = now
        auto_renewal.save()
    logger.info("Card %s: auto-renewal %s", card.pk, "on" if enabled else "off")
    return auto_renewal


def auto_renewal_save_method(*, card_id: int, customer_id: str, payment_method: dict, now: datetime) -> None:
    """Remember the card or PayPal account Stripe saved at Checkout for this card's auto-renewal."""
    label = payment_method.get("type", "")
    card_details = payment_method.get("card") or {}
    if card_details:
        label = (
            f"{(card_details.get('brand') or 'card').title()} •••• {card_details.get('last4', '')}".strip()
        )
    elif payment_method.get("type") == "paypal":
        label = f"PayPal {(payment_method.get('paypal') or {}).get('payer_email') or ''}".strip()
    AutoRenewal.objects.filter(card_id=card_id).update(
        stripe_customer_id=customer_id,
        stripe_payment_method_id=payment_method["id"],
        payment_method_type=payment_method.get("type", ""),
        payment_method_label=label[:100],
        updated_at=now,
    )


def auto_renewals_run(*, now: datetime) -> int:
    """Periodic: start one attempt for each card that is due. Returns how many were started."""
    started = 0
    due = list(auto_renewals_due(now=now, expiry_window=EXPIRY_WINDOW, used_fraction=USED_FRACTION)[:500])
    due += auto_renewals_due_by_forecast(now=now, exclude={auto_renewal.pk for auto_renewal in due})
    for auto_renewal in due:
        if auto_renewal_attempt(auto_renewal_id=auto_renewal.pk, now=now) is not None:
            started += 1
    return started


def auto_renewals_due_by_forecast(*, now: datetime, exclude: set[int]) -> list[AutoRenewal]:
    """Opted in to the forecast trigger: the card's data runs out within 24 h at its pace (the same
    rule, usage.forecast, as the run-out alert). One grouped usage query per 500 cards."""
    candidates = list(
        auto_renewals_due(
            now=now, expiry_window=EXPIRY_WINDOW, used_fraction=USED_FRACTION, by_thresholds=False
        )
        .filter(on_runout=True, card__usage_updated_at__gte=now - timedelta(days=FORECAST_WINDOW_DAYS + 1))
        .exclude(pk__in=exclude)[:500]
    )
    per_card = usage_by_monaco_day(cards=[auto_renewal.card for auto_renewal in candidates], now=now)
    return [
        auto_renewal
        for auto_renewal in candidates
        if card_forecast(
            card=auto_renewal.card, per_day=per_card.get(auto_renewal.card_id, {}), now=now
        ).runs_out_within(RUNOUT_SOON, now=now)
    ]


def auto_renewal_attempt(*, auto_renewal_id: int, now: datetime) -> Order | None:
    """One attempt per validity period, claimed by a conditional UPDATE so two workers never both pay."""
    auto_renewal = AutoRenewal.objects.select_related("card", "plan", "user").get(pk=auto_renewal_id)
    card, user = auto_renewal.card, auto_renewal.user
    if not auto_renewal.enabled or card.owner_id != user.pk or card.expires_at is None:
        return None
    claimed = (
        AutoRenewal.objects.filter(pk=auto_renewal.pk)
        .exclude(last_triggered_for_expiry=card.expires_at)
        .update(last_triggered_for_expiry=card.expires_at, last_attempt_at=now)
    )
    if not claimed:
        return None
    if Order.objects.filter(card=card, status__in=(Order.Status.PENDING, Order.Status.PAID)).exists():
        return None  # the customer is already paying or being renewed

    balance = wallet_balance_cents(user=user)
    needs_method = balance < auto_renewal.plan.price_cents
    if needs_method and not auto_renewal.stripe_payment_method_id:
        _record(auto_renewal, state=State.NO_PAYMENT_METHOD, order=None, now=now)
        _failure_notice(auto_renewal=auto_renewal, order=None, state=State.NO_PAYMENT_METHOD)
        return None
    try:
        order = services.order_create(
            user=user,
            plan=auto_renewal.plan,
            card=card,
            now=now,
            apply_wallet=True,
            origin=Order.Origin.AUTO_RENEWAL,
        )
    except services.BillingError as error:
        logger.warning("Auto-renewal %s: no order: %s", auto_renewal.pk, error)
        _record(auto_renewal, state=State.ERROR, order=None, now=now)
        _failure_notice(auto_renewal=auto_renewal, order=None, state=State.ERROR)
        return None
    # The wallet may have paid and a worker renewed already: never overwrite that success.
    AutoRenewal.objects.filter(pk=auto_renewal.pk).exclude(
        last_order=order, last_attempt_state=State.SUCCEEDED
    ).update(last_attempt_state=State.PROCESSING, last_attempt_at=now, last_order=order, updated_at=now)
    if order.status == Order.Status.PAID:
        return order  # the wallet covered it; fulfilment is queued
    if settings.PAYMENTS_DEMO_MODE:
        # No Stripe in demo mode: only the wallet path can work.
        auto_renewal_payment_failed(
            order_id=order.pk, state=State.NO_PAYMENT_METHOD, reason="Demo mode", now=now
        )
        return order

    order.stripe_customer_id = auto_renewal.stripe_customer_id
    order.save(update_fields=["stripe_customer_id"])
    try:
        intent = stripe_client.payment_intent_create_off_session(
            order=order,
            customer_id=auto_renewal.stripe_customer_id,
            payment_method_id=auto_renewal.stripe_payment_method_id,
        )
    except stripe.CardError as error:
        _remember_intent(
            order,
            stripe_client.object_id(
                ((cast(dict, error.json_body) or {}).get("error") or {}).get("payment_intent")
            ),
        )
        state = State.AUTHENTICATION_REQUIRED if error.code == "authentication_required" else State.DECLINED
        auto_renewal_payment_failed(
            order_id=order.pk, state=state, reason=str(error.user_message or error), now=now
        )
        return order
    except stripe.StripeError as error:
        auto_renewal_payment_failed(order_id=order.pk, state=State.ERROR, reason=str(error), now=now)
        return order
    _remember_intent(order, intent.id)
    return auto_renewal_intent_apply(order_id=order.pk, intent=intent.to_dict(), now=now)


def _remember_intent(order: Order, intent_id: str | None) -> None:
    if intent_id and not order.stripe_payment_intent_id:
        Order.objects.filter(pk=order.pk, stripe_payment_intent_id__isnull=True).update(
            stripe_payment_intent_id=intent_id
        )
        order.stripe_payment_intent_id = intent_id


def auto_renewal_intent_apply(*, order_id: int, intent: dict, now: datetime) -> Order:
    status = intent.get("status")
    if status == "succeeded":
        return services.order_mark_paid(
            order_id=order_id,
            paid_at=now,
            now=now,
            payment_intent_id=intent["id"],
            customer_id=stripe_client.object_id(intent.get("customer")),
            amount_cents=intent.get("amount"),
            currency=intent.get("currency"),
        )
    if status == "requires_action":
        return auto_renewal_payment_failed(
            order_id=order_id, state=State.AUTHENTICATION_REQUIRED, reason="Authentication required.", now=now
        )
    if status in ("requires_payment_method", "canceled"):
        return auto_renewal_payment_failed(
            order_id=order_id, state=State.DECLINED, reason="Payment declined.", now=now
        )
    return Order.objects.get(pk=order_id)  # processing: the reconciler asks again later


def auto_renewal_payment_sync(*, order_id: int, now: datetime) -> Order:
    order = Order.objects.get(pk=order_id)
    if order.status != Order.Status.PENDING or not order.stripe_payment_intent_id:
        return order
    intent = stripe_client.payment_intent_retrieve(order.stripe_payment_intent_id)
    return auto_renewal_intent_apply(order_id=order_id, intent=intent.to_dict(), now=now)


def auto_renewal_payment_failed(*, order_id: int, state: str, reason: str, now: datetime) -> Order:
    """Close the order, give back the credit, tell the customer how to pay; the next trigger is next period."""
    order = services.order_close(order_id=order_id, to=Order.Status.FAILED, now=now, reason=reason)
    auto_renewal = (
        AutoRenewal.objects.filter(card_id=cast(int, order.card_id))
        .select_related("card", "plan", "user")
        .first()
    )
    if auto_renewal is not None:
        _record(auto_renewal, state=state, order=order, now=now)
        _failure_notice(auto_renewal=auto_renewal, order=order, state=state)
    return order


def _record(auto_renewal: AutoRenewal, *, state: str, order: Order | None, now: datetime) -> None:
    AutoRenewal.objects.filter(pk=auto_renewal.pk).update(
        last_attempt_state=state, last_attempt_at=now, last_order=order, updated_at=now
    )


def _failure_notice(*, auto_renewal: AutoRenewal, order: Order | None, state: str) -> None:
    user = auto_renewal.user
    card = auto_renewal.card
    with translation.override(user.language or settings.LANGUAGE_CODE):
        plan_name = str(auto_renewal.plan.name)
    key = f"card:{card.pk}:expiry:{card.expires_at.isoformat() if card.expires_at else 'none'}"
    if Notification.objects.filter(dedupe_key__startswith=f"auto_renewal_failed:{key}:").exists():
        return  # told already (the notice log keeps it to once; no link minted for nothing)
    # A renew link: pay from any device, without logging in (billing.renew_links).
    pay_url = renew_link_url_for_notice(card, "auto_renewal_failed")
    notice_send(
        user=user,
        kind="auto_renewal_failed",
        key=key,
        context={
            "card_name": str(card),
            "plan_name": plan_name,
            "state": state,
            "order_number": order.number if order else "",
            "expires_at": card.expires_at.isoformat() if card.expires_at else None,
            "pay_url": pay_url,
        },
    )
