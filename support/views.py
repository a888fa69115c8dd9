from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from billing.models import Order
from billing.selectors import order_renewal_state
from notices.services import notice_channels_reachable
from portal.lib.messages import in_page_language
from portal.lib.pagination import page_get
from portal.lib.ratelimit import limit_writes
from support import selectors, services
from support.forms import ReplyForm, TicketForm
from usage.models import Card


@login_required
def ticket_list(request: HttpRequest) -> HttpResponse:
    page = page_get(request, selectors.tickets_for_user(user=request.user))
    return render(request, "support/ticket_list.html", {"tickets": page.object_list, "page": page})


@login_required
@require_http_methods(["GET", "POST"])
@limit_writes("ticket_open")
def ticket_new(request: HttpRequest) -> HttpResponse:
    initial = {}
    # Links from a card or order page preselect it, but only the traveller's own.
    if card_id := request.GET.get("card"):
        initial["card"] = get_object_or_404(Card, pk=card_id if card_id.isdigit() else 0, owner=request.user)
    if number := request.GET.get("order"):
        initial["order"] = get_object_or_404(Order, number=number, customer=request.user)
        initial["topic"] = "renewal"
    form = TicketForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            ticket = services.ticket_open(
                user=request.user,
                topic=form.cleaned_data["topic"],
                body=form.cleaned_data["body"],
                card=form.cleaned_data["card"],
                order=form.cleaned_data["order"],
            )
        except services.TicketLimitError as error:
            form.add_error(None, str(error))
        else:
            if _answers_by_sms_only(request.user):
                messages.success(
                    request,
                    in_page_language(
                        lambda: _("Your request has been sent. We answer by text message and on this page.")
                    ),
                )
            else:
                messages.success(
                    request,
                    in_page_language(
                        lambda: _("Your request has been sent. We answer by email and on this page.")
                    ),
                )
            return redirect("support:ticket_detail", ticket_id=ticket.pk)
    context = {"form": form, "answer_by_sms_only": _answers_by_sms_only(request.user)}
    return render(request, "support/ticket_new.html", context)


def _answers_by_sms_only(user) -> bool:
    # Answers go where notices go (notices rule): a phone-only customer is answered by SMS.
    return notice_channels_reachable(user) == ["sms"]


@login_required
@require_http_methods(["GET", "POST"])
@limit_writes("ticket_reply")
def ticket_detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = selectors.ticket_for_user_or_404(user=request.user, ticket_id=ticket_id)
    form = ReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.ticket_reply(ticket=ticket, user=request.user, body=form.cleaned_data["body"])
        messages.success(request, in_page_language(lambda: _("Your reply has been sent.")))
        return redirect("support:ticket_detail", ticket_id=ticket.pk)
    context = {
        "ticket": ticket,
        "thread": ticket.messages.all(),
        "form": form,
        "renewal_state": order_renewal_state(ticket.order, for_traveller=True) if ticket.order else None,
    }
    return render(request, "support/ticket_detail.html", context)
