import logging

import stripe
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from billing import autorenew, selectors, services, webhooks
from billing.forms import AutoRenewalForm, CheckoutForm, DemoPaymentForm
from billing.models import Order
from billing.presenters import order_progress, topups_by_order
from billing.withdrawal import start_now_text
from plans.models import Plan
from portal.lib import ratelimit
from portal.lib.messages import in_page_language
from portal.lib.pagination import page_get
from usage.selectors import card_name

logger = logging.getLogger(__name__)

SESSION_SYNC_EVERY_SECONDS = 5


def _get_order_for_user(request: HttpRequest, number: str) -> Order:
    return selectors.order_for_user_or_404(user=request.user, number=number)


def _card_from_param(request: HttpRequest, value: str | None):
    """'new' or nothing: a new eSIM; an id: one of the user's cards, or 404."""
    if not value or value == "new":
        return None
    return selectors.card_for_user_or_404(user=request.user, card_id=value)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def checkout(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    data = request.POST if request.method == "POST" else request.GET
    card = _card_from_param(request, data.get("card"))
    plan = selectors.plan_for_sale(code=data.get("plan", ""))
    if plan is None:
        messages.error(
            request,
            in_page_language(lambda: _("This plan is not on sale. Please choose one of the plans below.")),
        )
        return redirect("plans:list")

    # First arrival (only plan and card in the address): credit applied, no promo code yet.
    submitted = request.method == "POST" or "promo_code" in request.GET
    form = CheckoutForm(
        data if submitted else None, initial={"plan": plan.code, "card": card.pk if card else "new"}
    )
    form.is_valid()
    promo_code = form.cleaned_data.get("promo_code", "") if form.is_bound else ""
    apply_wallet = form.cleaned_data.get("apply_wallet", False) if form.is_bound else True
    promotion = None
    # Wrong promo codes are limited per account and per address ("promo_failed"), even by GET.
    if promo_code and not ratelimit.allowed(request, "promo_failed", user=request.user):
        form.add_error("promo_code", _("Too many wrong promo codes. Please wait an hour and try again."))
        return _checkout_render(request, form, plan, card, None, apply_wallet, now, status=429)
    if promo_code:
        try:
            promotion = selectors.promotion_find(code=promo_code, plan=plan, user=request.user, now=now)
        except selectors.PromotionInvalid as error:
            ratelimit.hit(request, "promo_failed", user=request.user)
            form.add_error("promo_code", str(error))

    # "Update the price" posts the form (a code and the CSRF token never travel in the address) and
    # only shows the new quote.
    placing = request.method == "POST" and request.POST.get("action") != "update_price"
    if placing and not form.errors and not form.cleaned_data.get("start_now"):
        form.add_error(
            "start_now",
            _(
                "Tick the box to ask for your plan to start now: without it, it cannot start before the withdrawal period ends."
            ),
        )
    if placing and not form.errors:
        try:
            order = services.order_create(
                user=request.user,
                plan=plan,
                card=card,
                now=now,
                promo_code=promo_code,
                apply_wallet=apply_wallet,
                save_payment_method=_auto_renew_wants_method(card),
                start_now_text=start_now_text(language=request.LANGUAGE_CODE),
                start_now_language=request.LANGUAGE_CODE,
            )
        except selectors.PromotionInvalid as error:
            form.add_error("promo_code", str(error))
        except services.BillingError as error:
            form.add_error(None, str(error))
        else:
            return _to_payment(request, order, now)

    if not form.is_bound:
        form = CheckoutForm(
            initial={"plan": plan.code, "card": card.pk if card else "new", "apply_wallet": True}
        )
    return _checkout_render(request, form, plan, card, promotion, apply_wallet, now)


def _checkout_render(request, form, plan, card, promotion, apply_wallet, now, *, status=None) -> HttpResponse:
    quote = selectors.order_quote(
        user=request.user, plan=plan, card=card, promotion=promotion, apply_wallet=apply_wallet, now=now
    )
    context = {
        "form": form,
        "quote": quote,
        "plan": plan,
        "card": card,
        "now": now,
        "save_payment_method": _auto_renew_wants_method(card),
        "start_now_text": start_now_text(language=request.LANGUAGE_CODE),
    }
    return render(request, "billing/checkout.html", context, status=status or (400 if form.errors else 200))


def _auto_renew_wants_method(card) -> bool:
    if card is None:
        return False
    auto_renewal = selectors.auto_renewal_for_card(card=card)
    return bool(auto_renewal and auto_renewal.enabled and not auto_renewal.stripe_payment_method_id)


def _to_payment(request: HttpRequest, order: Order, now) -> HttpResponse:
    if order.status != Order.Status.PENDING:
        # Covered by credit or a promotion: paid already, renewing now.
        return redirect("billing:order_status", number=order.number)
    # Stripe sends the traveller back to SITE_URL, like every link we send: never to the Host header.
    status_url = settings.SITE_URL + reverse("billing:order_status", args=[order.number])
    cancel_url = settings.SITE_URL + reverse("billing:order_cancel", args=[order.number])
    try:
        url = services.checkout_start(
            order=order,
            success_url=status_url + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=cancel_url,
            now=now,
        )
    except services.CheckoutUnavailable as error:
        messages.error(request, str(error))
        return redirect(
            reverse("billing:checkout") + f"?plan={order.plan_code}&card={order.card_id or 'new'}"
        )
    return redirect(url)


@login_required
@never_cache
@require_GET
def order_status(request: HttpRequest, number: str) -> HttpResponse:
    """Where Checkout sends the customer back. Stripe's advice: check the session here too."""
    order = _get_order_for_user(request, number)
    session_id = request.GET.get("session_id", "")
    if (
        order.status == Order.Status.PENDING
        and order.flagged_at is None
        and session_id
        and session_id == order.stripe_checkout_session_id
    ):
        try:
            order = services.checkout_session_sync(order_id=order.pk, now=timezone.now())
        except (stripe.StripeError, services.BillingError) as error:
            logger.warning("Order %s: session check on return failed: %s", order.number, error)
        order = _get_order_for_user(request, number)
    progress = order_progress(order=order, now=timezone.now(), with_steps=True)
    return render(request, "billing/order_status.html", {"order": order, "progress": progress})


@login_required
@require_GET
def receipt_short(request: HttpRequest, number: str) -> HttpResponse:
    """The link in a confirmation SMS: short, and only for the order's customer."""
    order = _get_order_for_user(request, number)
    return redirect("billing:receipt", number=order.number)


@login_required
@never_cache
@require_GET
def order_status_json(request: HttpRequest, number: str) -> JsonResponse:
    order = _get_order_for_user(request, number)
    # Still waiting after the return from Checkout: ask Stripe now and then, not on every poll; a
    # payment being checked by support (flagged) is not asked about again.
    if (
        order.status == Order.Status.PENDING
        and order.flagged_at is None
        and order.checkout_started_at
        and cache.add(f"billing:session-sync:{order.pk}", 1, timeout=SESSION_SYNC_EVERY_SECONDS)
    ):
        try:
            services.checkout_session_sync(order_id=order.pk, now=timezone.now())
        except (stripe.StripeError, services.BillingError) as error:
            logger.warning("Order %s: session check while polling failed: %s", order.number, error)
        order = _get_order_for_user(request, number)
    return JsonResponse(order_progress(order=order, now=timezone.now(), with_steps=True).as_json())


@login_required
@require_http_methods(["GET", "POST"])
def order_cancel(request: HttpRequest, number: str) -> HttpResponse:
    """Checkout's cancel address: nothing was charged. The order stays payable until cancelled or expired."""
    order = _get_order_for_user(request, number)
    if order.flag_reason == Order.FlagReason.PAYMENT_MISMATCH:
        return redirect("billing:order_status", number=order.number)  # paid; support is checking it
    if request.method == "POST" and order.status == Order.Status.PENDING:
        try:
            order = services.order_cancel(order=order, now=timezone.now())
        except stripe.StripeError:
            messages.error(
                request,
                in_page_language(
                    lambda: _("We could not reach the payment service. Please try again in a minute.")
                ),
            )
            return redirect("billing:order_cancel", number=order.number)
        if order.status == Order.Status.CANCELLED:
            messages.success(
                request,
                in_page_language(
                    lambda: (
                        _("Order %(number)s is cancelled. Nothing was charged.") % {"number": order.number}
                    )
                ),
            )
            return redirect("billing:orders")
        return redirect("billing:order_status", number=order.number)
    if order.status != Order.Status.PENDING:
        return redirect("billing:order_status", number=order.number)
    return render(request, "billing/order_cancel.html", {"order": order})


@login_required
@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    page = page_get(request, selectors.orders_for_user(user=request.user))
    orders = list(page.object_list)
    topups = topups_by_order([order.pk for order in orders])
    rows = [
        (order, order_progress(order=order, now=now, topup=topups.get(order.pk), topup_loaded=True))
        for order in orders
    ]
    return render(request, "billing/order_list.html", {"rows": rows, "page": page, "now": now})


@login_required
@require_GET
def wallet(request: HttpRequest) -> HttpResponse:
    page = page_get(request, selectors.wallet_entries(user=request.user))
    return render(
        request,
        "billing/wallet.html",
        {
            "balance_cents": selectors.wallet_balance_cents(user=request.user),
            "entries": page.object_list,
            "page": page,
            "currency": settings.CURRENCY,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def auto_renew(request: HttpRequest, card_id: int) -> HttpResponse:
    card = selectors.card_for_user_or_404(user=request.user, card_id=card_id)
    current = selectors.auto_renewal_for_card(card=card)
    initial = {
        "enabled": bool(current and current.enabled),
        "on_runout": bool(current and current.on_runout),
        "plan": current.plan.code if current else None,
    }
    if initial["plan"] is None:
        first = Plan.objects.filter(is_active=True).first()
        initial["plan"] = first.code if first else None
    form = AutoRenewalForm(request.POST or None, initial=initial)
    consent_general = autorenew.auto_renewal_consent_general()
    if request.method == "POST" and form.is_valid():
        plan = form.cleaned_data["plan"]
        enabled = form.cleaned_data["enabled"]
        on_runout = form.cleaned_data["on_runout"]
        try:
            autorenew.auto_renewal_set(
                card=card,
                user=request.user,
                plan=plan,
                enabled=enabled,
                on_runout=on_runout,
                consent_text=autorenew.auto_renewal_consent_text(plan=plan, on_runout=on_runout)
                if enabled
                else "",
                now=timezone.now(),
            )
        except services.BillingError as error:
            form.add_error(None, str(error))
        else:
            if enabled:
                messages.success(
                    request,
                    in_page_language(lambda: _("Auto-renew is on for %(card)s.") % {"card": card_name(card)}),
                )
            else:
                messages.success(
                    request,
                    in_page_language(
                        lambda: _("Auto-renew is off for %(card)s.") % {"card": card_name(card)}
                    ),
                )
            return redirect("billing:auto_renew", card_id=card.pk)
    return render(
        request,
        "billing/auto_renew.html",
        {
            "card": card,
            "form": form,
            "auto_renewal": current,
            "consent_general": consent_general,
            "consent_runout": autorenew.auto_renewal_consent_runout(),
            "wallet_balance_cents": selectors.wallet_balance_cents(user=request.user),
            "currency": settings.CURRENCY,
        },
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def demo_checkout(request: HttpRequest, number: str) -> HttpResponse:
    """Stands in for Stripe Checkout when no Stripe keys are set: same events, same handlers."""
    if not settings.PAYMENTS_DEMO_MODE:
        raise Http404("Demo payments are off.")
    order = _get_order_for_user(request, number)
    if order.status != Order.Status.PENDING:
        return redirect("billing:order_status", number=order.number)
    form = DemoPaymentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        event_type = {
            "pay": "checkout.session.completed",
            "decline": "checkout.session.async_payment_failed",
        }[form.cleaned_data["outcome"]]
        now = timezone.now()
        event = webhooks.demo_event_deliver(order=order, event_type=event_type, now=now)
        if event_type == "checkout.session.completed":
            # As on the return from Stripe (order_status checks the session): the order is paid
            # before the page shows, not when a worker gets to the event ("Payment received").
            services.checkout_session_apply(session=event.payload["data"]["object"], now=now, paid_at=now)
        return redirect("billing:order_status", number=order.number)
    return render(request, "billing/demo_checkout.html", {"order": order})


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Verified, stored by event id, then 200. A repeat is acknowledged and ignored."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        return HttpResponseBadRequest("Webhooks are not configured.")
    try:
        event = webhooks.webhook_payload_verify(
            payload=request.body,
            signature=request.headers.get("Stripe-Signature"),
            secret=secret,
            now=timezone.now().timestamp(),
        )
    except (ValueError, stripe.SignatureVerificationError):
        return HttpResponseBadRequest("Invalid payload or signature.")
    if not isinstance(event, dict) or not event.get("id"):
        return HttpResponseBadRequest("Not an event.")
    _stored, created = webhooks.webhook_event_store(event=event, now=timezone.now())
    return JsonResponse({"received": True, "duplicate": not created})
