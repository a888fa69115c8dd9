"""The receipt page, its PDF, and the invoice a customer can ask for there (billing/invoicing.py)."""

import contextlib

import phonenumbers
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from billing import documents, invoicing, selectors
from billing.forms import InvoiceRequestForm
from billing.invoicing import Buyer, InvoiceRefused
from billing.models import Invoice, Order, Refund
from billing.presenters import payment_method_label
from portal.lib import ratelimit
from portal.lib.messages import in_page_language


def _paid_order_for_user(request: HttpRequest, number: str) -> Order:
    order = selectors.order_for_user_or_404(user=request.user, number=number)
    if order.paid_at is None:
        raise Http404("Only paid orders have a receipt.")
    return order


def _initial_buyer(request: HttpRequest) -> dict:
    user = request.user
    country = "MC"
    if user.phone:
        with contextlib.suppress(phonenumbers.NumberParseException):
            country = phonenumbers.region_code_for_number(phonenumbers.parse(user.phone)) or country
    return {"name": user.name, "country": country}


def _receipt(
    request: HttpRequest, order: Order, *, form: InvoiceRequestForm | None = None, status: int = 200
):
    now = timezone.now()
    refusal = invoicing.invoice_refusal(order=order, now=now)
    order_documents = invoicing.documents_for_order(order=order)
    if form is None and refusal is None:
        form = InvoiceRequestForm(initial=_initial_buyer(request))
    seller = invoicing.seller()
    context = {
        "order": order,
        # A refund counts once it has succeeded (billing.refunds); pending ones are not on the receipt.
        "refunds": list(order.refunds.filter(status=Refund.Status.SUCCEEDED).order_by("succeeded_at", "id")),
        "method_label": payment_method_label(order.payment_method_type),
        "seller": {"name": seller.name, "address": seller.address, "vat_number": seller.vat_id},
        "documents": order_documents,
        "invoice_form": form if refusal is None else None,
        "invoice_refusal": refusal if not order_documents else None,
        "invoice_deadline": invoicing.invoice_request_deadline(order=order),
    }
    return render(request, "billing/receipt.html", context, status=status)


@login_required
@require_GET
def receipt(request: HttpRequest, number: str) -> HttpResponse:
    return _receipt(request, _paid_order_for_user(request, number))


def _pdf_response(request: HttpRequest, content: bytes, file_name: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    disposition = "inline" if request.GET.get("view") == "1" else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{file_name}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _too_many(request: HttpRequest, order: Order) -> HttpResponse:
    messages.error(
        request,
        in_page_language(
            lambda: _("You have downloaded many documents in a short time. Please try again in an hour.")
        ),
    )
    return redirect("billing:receipt", order.number)


@login_required
@never_cache
@require_GET
def receipt_pdf(request: HttpRequest, number: str) -> HttpResponse:
    order = _paid_order_for_user(request, number)
    if not ratelimit.hit(request, "document_pdf", user=request.user):
        return _too_many(request, order)
    content = documents.receipt_pdf(order, language=documents.document_language(order=order))
    return _pdf_response(request, content, f"{order.number}-receipt.pdf")


@login_required
@never_cache
@require_GET
def document_pdf(request: HttpRequest, number: str, document_number: str) -> HttpResponse:
    order = _paid_order_for_user(request, number)
    document = get_object_or_404(
        Invoice.objects.select_related("order", "corrects"), order=order, number=document_number
    )
    if not ratelimit.hit(request, "document_pdf", user=request.user):
        return _too_many(request, order)
    return _pdf_response(request, documents.invoice_pdf(document), document.file_name)


@login_required
@require_http_methods(["GET", "POST"])
def invoice_request(request: HttpRequest, number: str) -> HttpResponse:
    order = _paid_order_for_user(request, number)
    if request.method == "GET":  # a reload after a post, or a bookmark: the form is on the receipt
        return redirect("billing:receipt", order.number)
    form = InvoiceRequestForm(request.POST)
    if not form.is_valid():
        return _receipt(request, order, form=form, status=400)
    if not ratelimit.hit(request, "invoice_request", user=request.user):
        messages.error(
            request, in_page_language(lambda: _("Too many invoice requests. Please try again in an hour."))
        )
        return redirect("billing:receipt", order.number)
    data = form.cleaned_data
    buyer = Buyer(
        name=data["name"],
        address=data["address"],
        country=data["country"],
        vat_id=data.get("vat_id", ""),
        vat_id_check=data.get("vat_id_check", Invoice.VatIdCheck.NONE),
        email=request.user.email or "",
    )
    try:
        invoice = invoicing.invoice_issue(
            order=order, buyer=buyer, language=request.LANGUAGE_CODE, now=timezone.now()
        )
    except InvoiceRefused as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, in_page_language(lambda: _("Invoice %(number)s is ready.") % {"number": invoice.number})
        )
    return redirect("billing:receipt", order.number)


@login_required
@require_http_methods(["GET", "POST"])
def document_email(request: HttpRequest, number: str, document_number: str) -> HttpResponse:
    order = _paid_order_for_user(request, number)
    document = get_object_or_404(
        Invoice.objects.select_related("order__customer"), order=order, number=document_number
    )
    if request.method == "GET":
        return redirect("billing:receipt", order.number)
    if not ratelimit.hit(request, "invoice_email", user=request.user):
        messages.error(
            request,
            in_page_language(lambda: _("Too many emails in a short time. Please try again in an hour.")),
        )
        return redirect("billing:receipt", order.number)
    try:
        documents.document_email_send(document=document, key=f"customer:{timezone.now().isoformat()}")
    except documents.DocumentNotSent as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            in_page_language(
                lambda: (
                    _("%(number)s is on its way to %(email)s.")
                    % {"number": document.number, "email": request.user.email}
                )
            ),
        )
    return redirect("billing:receipt", order.number)
