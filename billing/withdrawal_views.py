"""The withdrawal function on the order page and the receipt: step one shows, step two confirms."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from billing import selectors
from billing.models import Withdrawal
from billing.withdrawal import WithdrawalRefused, withdrawal_make, withdrawal_quote, withdrawal_refusal
from portal.lib import ratelimit
from portal.lib.messages import in_page_language


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def withdraw(request: HttpRequest, number: str) -> HttpResponse:
    order = selectors.order_for_user_or_404(user=request.user, number=number)
    if Withdrawal.objects.filter(order=order).exists():
        return redirect("billing:receipt", order.number)
    now = timezone.now()
    refusal = withdrawal_refusal(order=order, now=now)
    if refusal:
        messages.error(request, refusal)
        return redirect("billing:order_status", order.number)
    if request.method == "POST":
        if not ratelimit.hit(request, "withdrawal", user=request.user):
            messages.error(
                request,
                in_page_language(
                    lambda: _("Too many attempts. Please try again in an hour or contact support.")
                ),
            )
            return redirect("billing:order_status", order.number)
        try:
            withdrawal_make(order=order, user=request.user, now=now)
        except WithdrawalRefused as error:
            messages.error(request, str(error))
            return redirect("billing:order_status", order.number)
        messages.success(
            request,
            in_page_language(
                lambda: _("You have withdrawn from this purchase. The acknowledgement is on the receipt.")
            ),
        )
        return redirect(f"{redirect('billing:receipt', order.number).url}#withdrawal")
    quote = withdrawal_quote(order=order, now=now)
    return render(request, "billing/withdraw.html", {"order": order, "quote": quote, "now": now})
