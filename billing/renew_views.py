"""The renew-link pages (billing.renew_links): one card's renew page for whoever holds the link.

None of these use the visitor's login: a friend's phone where the friend is signed in gets the same
scoped pages, and the friend's account is not touched. Every response says `Referrer-Policy:
no-referrer` and `Cache-Control: no-store`.
"""

import logging
from collections.abc import Callable
from functools import wraps

import stripe
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from billing import renew_links, selectors, services, webhooks
from billing.forms import DemoPaymentForm
from billing.models import Order, RenewLink
from billing.presenters import order_progress
from billing.withdrawal import start_now_text
from plans.selectors import plans_on_sale
from portal.lib import ratelimit
from usage.forecast import card_forecast, forecast_sentence
from usage.selectors import card_short_name, usage_by_monaco_day

logger = logging.getLogger(__name__)


def _scoped(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = "no-referrer"
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return never_cache(wrapped)


def _set_scope(response: HttpResponse, *, token: str, link: RenewLink, now) -> None:
    lifetime = min(renew_links.SCOPE_IDLE, link.expires_at - now)
    response.set_signed_cookie(
        renew_links.SCOPE_COOKIE,
        token,
        salt=renew_links.SCOPE_COOKIE_SALT,
        max_age=max(int(lifetime.total_seconds()), 0),
        path=reverse("billing:renew"),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def _forget_scope(response: HttpResponse) -> None:
    response.delete_cookie(renew_links.SCOPE_COOKIE, path=reverse("billing:renew"), samesite="Lax")


def _scope_token(request: HttpRequest) -> str | None:
    return request.get_signed_cookie(
        renew_links.SCOPE_COOKIE,
        default=None,
        salt=renew_links.SCOPE_COOKIE_SALT,
        max_age=renew_links.SCOPE_IDLE.total_seconds(),
    )


def _refused(request: HttpRequest, refusal: str, *, status: int, forget: bool = True) -> HttpResponse:
    response = render(
        request,
        "billing/renew_refused.html",
        {"message": renew_links.REFUSAL_MESSAGES[refusal], "refusal": refusal},
        status=status,
    )
    if forget:  # the scope this device holds is dead: drop it
        _forget_scope(response)
    return response


def _scope(request: HttpRequest, *, for_payment: bool = False) -> tuple[RenewLink | None, str, str]:
    token = _scope_token(request)
    link = renew_links.renew_link_find(token=token) if token else None
    refusal = renew_links.renew_link_refusal(link=link, now=timezone.now(), for_payment=for_payment)
    return link, token or "", refusal


@_scoped
@require_GET
def renew_link_open(request: HttpRequest, token: str) -> HttpResponse:
    """The address in the message: swap the token for a scoped cookie, then drop it from the address."""
    if not ratelimit.allowed(request, "renew_link_open"):
        return ratelimit.respond_429(request)
    now = timezone.now()
    link = renew_links.renew_link_find(token=token)
    refusal = renew_links.renew_link_refusal(link=link, now=now)
    if refusal:
        # Only failures count: the owner opening their own link twice never spends the budget.
        ratelimit.hit(request, "renew_link_open")
        logger.info("Renew link refused (%s)", refusal)
        status = 404 if refusal == renew_links.Refusal.UNKNOWN else 410
        return _refused(request, refusal, status=status, forget=False)
    renew_links.renew_link_opened(link=link, now=now)
    response = redirect("billing:renew")
    response.status_code = 303
    _set_scope(response, token=token, link=link, now=now)
    return response


@_scoped
@require_http_methods(["GET", "POST"])
def renew(request: HttpRequest) -> HttpResponse:
    """That card's data left and expiry, and its plans to pay for. Nothing else."""
    link, token, refusal = _scope(request)
    if refusal:
        return _refused(request, refusal, status=403 if refusal == renew_links.Refusal.UNKNOWN else 410)
    now = timezone.now()
    card = link.card
    error = ""
    if request.method == "POST":
        if not ratelimit.hit(request, "renew_link_pay", key=str(link.pk)):
            return ratelimit.respond_429(request)
        plan = selectors.plan_for_sale(code=request.POST.get("plan", ""))
        if plan is None:
            error = _("This plan is not on sale. Please choose one of the plans below.")
        elif not request.POST.get("start_now"):
            # A normal order: the same express request to start now as at checkout (billing.withdrawal).
            error = _(
                "Tick the box to ask for your plan to start now: without it, it cannot start before the withdrawal period ends."
            )
        else:
            try:
                order = renew_links.renew_link_order_create(
                    link_id=link.pk,
                    plan=plan,
                    now=now,
                    start_now_text=start_now_text(language=request.LANGUAGE_CODE),
                    start_now_language=request.LANGUAGE_CODE,
                )
            except renew_links.RenewLinkRefused as refused:
                return _refused(request, refused.refusal, status=410)
            except services.BillingError as failure:
                error = str(failure)
            else:
                return _to_payment(request, order, now)
    per_day = usage_by_monaco_day(cards=[card], now=now).get(card.pk, {})
    context = {
        "card": card,
        "card_name": card_short_name(card),
        "state": card.state_at(now),
        "remaining": card.data_remaining_at(now),
        "is_active": card.is_active_at(now),
        "forecast_sentence": forecast_sentence(card_forecast(card=card, per_day=per_day, now=now)),
        "plans": list(plans_on_sale()),
        "start_now_text": start_now_text(language=request.LANGUAGE_CODE),
        "payments_left": renew_links.renew_link_payments_left(link=link),
        "link_expires_at": link.expires_at,
        "error": error,
        "now": now,
    }
    response = render(request, "billing/renew.html", context, status=400 if error else 200)
    _set_scope(response, token=token, link=link, now=now)  # idle timeout starts again
    return response


def _to_payment(request: HttpRequest, order: Order, now) -> HttpResponse:
    if order.status != Order.Status.PENDING:
        return redirect("billing:renew_order_status", number=order.number)
    status_url = settings.SITE_URL + reverse("billing:renew_order_status", args=[order.number])
    try:
        url = services.checkout_start(
            order=order,
            success_url=status_url + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=settings.SITE_URL + reverse("billing:renew"),
            now=now,
            demo_url=reverse("billing:renew_demo_checkout", args=[order.number]),
        )
    except services.CheckoutUnavailable as error:
        response = render(request, "billing/renew_refused.html", {"message": str(error)}, status=503)
        return response
    return redirect(url)


def _scoped_order(request: HttpRequest, number: str) -> tuple[RenewLink, Order]:
    link, _token, refusal = _scope(request)
    # A dead link still shows the order it paid for while the cookie lives: the payer watches it finish.
    if link is None or (
        refusal and refusal not in (renew_links.Refusal.USED_UP, renew_links.Refusal.EXPIRED)
    ):
        raise Http404
    order = renew_links.renew_link_order_get(link=link, number=number)
    if order is None:
        raise Http404
    return link, order


@_scoped
@require_GET
def renew_order_status(request: HttpRequest, number: str) -> HttpResponse:
    link, order = _scoped_order(request, number)
    session_id = request.GET.get("session_id", "")
    if order.status == Order.Status.PENDING and session_id and session_id == order.stripe_checkout_session_id:
        try:
            order = services.checkout_session_sync(order_id=order.pk, now=timezone.now())
        except (stripe.StripeError, services.BillingError) as error:
            logger.warning("Order %s: session check on return failed: %s", order.number, error)
        order.refresh_from_db()
    progress = order_progress(order=order, now=timezone.now(), receipt_visible=False, with_steps=True)
    return render(
        request,
        "billing/renew_order_status.html",
        {"order": order, "progress": progress, "card_name": card_short_name(link.card)},
    )


@_scoped
@require_GET
def renew_order_status_json(request: HttpRequest, number: str) -> JsonResponse:
    _link, order = _scoped_order(request, number)
    return JsonResponse(
        order_progress(order=order, now=timezone.now(), receipt_visible=False, with_steps=True).as_json()
    )


@_scoped
@require_http_methods(["GET", "POST"])
def renew_demo_checkout(request: HttpRequest, number: str) -> HttpResponse:
    """The demo stand-in for Stripe Checkout, for an order made through the link."""
    if not settings.PAYMENTS_DEMO_MODE:
        raise Http404("Demo payments are off.")
    _link, order = _scoped_order(request, number)
    if order.status != Order.Status.PENDING:
        return redirect("billing:renew_order_status", number=order.number)
    form = DemoPaymentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        event_type = {
            "pay": "checkout.session.completed",
            "decline": "checkout.session.async_payment_failed",
        }[form.cleaned_data["outcome"]]
        webhooks.demo_event_deliver(order=order, event_type=event_type, now=timezone.now())
        return redirect("billing:renew_order_status", number=order.number)
    return render(request, "billing/demo_checkout.html", {"order": order})


@_scoped
@require_POST
def renew_forget(request: HttpRequest) -> HttpResponse:
    """ "Forget this link on this device": for a borrowed phone."""
    message = _("Done: this device no longer holds the renew link.")
    response = render(request, "billing/renew_refused.html", {"message": message, "forgotten": True})
    _forget_scope(response)
    return response
