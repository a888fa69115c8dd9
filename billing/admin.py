import json
from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import admin
from django.db.models import Q
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from audit.admin_mixins import (
    AuditedAdmin,
    BigTableAdmin,
    IndexedValuesListFilter,
    ReadOnlyAdmin,
    ReadOnlyInline,
    ReasonForm,
    StaffAction,
    StaffActionsAdmin,
)
from billing import staff_actions
from billing.documents import signed_money
from billing.forms import GoodwillForm
from billing.models import (
    AutoRenewal,
    Dispute,
    Invoice,
    Order,
    Refund,
    StartNowRequest,
    Wallet,
    WalletEntry,
    WebhookEvent,
    Withdrawal,
)
from billing.refunds import order_refund_blocker, order_refundable_cents
from billing.selectors import order_renewal_state, orders_stuck, orders_with_granted_expiry
from portal.lib import search_keys as keys
from portal.lib.display import format_data, format_gb, format_monaco_datetime, format_money
from portal.lib.money import euros_to_cents


def stripe_dashboard_url(kind: str, stripe_id: str) -> str:
    mode = "" if settings.STRIPE_SECRET_KEY.startswith(("sk_live_", "rk_live_")) else "test/"
    return f"https://dashboard.stripe.com/{mode}{kind}/{stripe_id}"


def _stripe_link(kind: str, stripe_id: str | None):
    if not stripe_id:
        return "—"
    return format_html(
        '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>',
        stripe_dashboard_url(kind, stripe_id),
        stripe_id,
    )


class RenewalStateFilter(admin.SimpleListFilter):
    title = _("needs attention")
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return (
            ("paid_not_renewed", _("Paid but not renewed")),
            ("stuck", _("Stuck over 24 h")),
            ("disputed", _("Disputed")),
        )

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "paid_not_renewed":
            return queryset.filter(status=Order.Status.PAID, fulfilled_at__isnull=True)
        if self.value() == "stuck":
            # What the reconciler flags (billing.selectors.orders_stuck), and what it has flagged.
            return queryset.filter(Q(flagged_at__isnull=False) | orders_stuck(now=now)).exclude(
                status__in=[Order.Status.FULFILLED, Order.Status.REFUNDED, Order.Status.CANCELLED]
            )
        if self.value() == "disputed":
            return queryset.filter(status=Order.Status.DISPUTED)
        return queryset


class PaymentMethodFilter(admin.SimpleListFilter):
    title = _("payment method")
    parameter_name = "method"

    # Stripe's names for the methods the account may offer, plus the portal's own.
    METHODS = ("card", "apple_pay", "google_pay", "link", "paypal", "alipay", "wechat_pay", "wallet", "demo")

    def lookups(self, request, model_admin):
        # A fixed list: a DISTINCT over millions of orders on every changelist load costs too much.
        return [(method, method) for method in self.METHODS]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(payment_method_type=self.value())
        return queryset


class RefundForm(ReasonForm):
    amount = forms.DecimalField(label=_("Amount to refund (€)"), min_value=Decimal("0.01"), decimal_places=2)
    destination = forms.ChoiceField(label=_("Refund to"), choices=Refund.Destination.choices)
    field_order = ["amount", "destination", "reason"]

    def __init__(self, *args, order: Order, **kwargs):
        self.order = order
        super().__init__(*args, **kwargs)
        refundable = order_refundable_cents(order=order)
        self.fields["amount"].initial = Decimal(refundable) / 100
        self.fields["amount"].help_text = gettext(
            "At most %(amount)s (paid %(paid)s, already refunded %(refunded)s)."
        ) % {
            "amount": format_money(refundable, order.currency),
            "paid": format_money(order.paid_cents, order.currency),
            "refunded": format_money(order.refunded_amount_cents, order.currency),
        }

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("amount") is not None:
            cleaned["amount_cents"] = euros_to_cents(cleaned["amount"])
            refundable = order_refundable_cents(order=self.order)
            if cleaned["amount_cents"] > refundable:
                raise forms.ValidationError(
                    gettext("At most %(amount)s can still be refunded.")
                    % {"amount": format_money(refundable, self.order.currency)}
                )
        return cleaned


def _order_refund(request, order, data):
    refund = staff_actions.staff_order_refund(
        actor=request.user,
        order=order,
        amount_cents=data["amount_cents"],
        destination=data["destination"],
        reason=data["reason"],
    )
    values = {
        "amount": format_money(refund.amount_cents, refund.currency),
        "destination": refund.get_destination_display(),
    }
    if refund.status != Refund.Status.SUCCEEDED:
        # It counts (and takes data back) only once Stripe says it succeeded.
        return (
            gettext(
                "Refund of %(amount)s to %(destination)s sent; Stripe reports it pending. It takes effect when "
                "it succeeds."
            )
            % values
        )
    return gettext("Refunded %(amount)s to %(destination)s.") % values


def _order_resend(request, order, data):
    staff_actions.staff_order_resend_confirmation(actor=request.user, order=order, reason=data["reason"])
    return gettext("The confirmation is on its way again.")


def _order_retry(request, order, data):
    staff_actions.staff_order_retry_fulfilment(actor=request.user, order=order, reason=data["reason"])
    return gettext("Fulfilment queued again.")


def _wallet_credit(request, wallet, data):
    staff_actions.staff_wallet_credit(
        actor=request.user,
        user=wallet.user,
        amount_cents=euros_to_cents(data["amount"]),
        reason=data["reason"],
    )
    return gettext("Goodwill credit added.")


def _webhook_rerun(request, event, data):
    staff_actions.staff_webhook_rerun(actor=request.user, event=event, reason=data["reason"])
    return gettext("Event handed to a worker again.")


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = (
        "created_at",
        "refund_amount",
        "destination",
        "source",
        "status",
        "failure_reason",
        "succeeded_at",
        "stripe_refund",
        "data_taken_back",
        "staff_user",
        "reason",
    )
    readonly_fields = fields
    show_change_link = False

    @admin.display(description=_("amount"))
    def refund_amount(self, refund):
        return format_money(refund.amount_cents, refund.currency)

    @admin.display(description=_("data taken back"))
    def data_taken_back(self, refund):
        return format_data(refund.data_reversed_bytes)

    @admin.display(description=_("Stripe refund"))
    def stripe_refund(self, refund):
        return _stripe_link("refunds", refund.stripe_refund_id)


class DocumentInline(ReadOnlyInline):
    model = Invoice
    fk_name = "order"
    fields = ("number", "kind", "reason", "issued_at", "gross", "buyer_name")
    readonly_fields = fields
    verbose_name = _("invoice or credit note")
    verbose_name_plural = _("invoices and credit notes")

    @admin.display(description=_("total (VAT included)"))
    def gross(self, document):
        return signed_money(document.gross_cents, document.currency)


class StartNowInline(ReadOnlyInline):
    model = StartNowRequest
    fk_name = "order"
    fields = ("requested_at", "language", "text")
    readonly_fields = fields
    verbose_name = _("request to start at once")
    verbose_name_plural = _("request to start at once (agreed at checkout)")


class WithdrawalInline(ReadOnlyInline):
    model = Withdrawal
    fk_name = "order"
    fields = ("requested_at", "refund", "to_method", "to_wallet", "acknowledged_on", "refund_error")
    readonly_fields = fields
    verbose_name = _("withdrawal by the customer")
    verbose_name_plural = _("withdrawal by the customer")

    @admin.display(description=_("refund"))
    def refund(self, withdrawal):
        return format_money(withdrawal.refund_cents, withdrawal.order.currency)

    @admin.display(description=_("to the payment method"))
    def to_method(self, withdrawal):
        return format_money(withdrawal.to_method_cents, withdrawal.order.currency)

    @admin.display(description=_("to account credit"))
    def to_wallet(self, withdrawal):
        return format_money(withdrawal.to_wallet_cents, withdrawal.order.currency)


class DisputeInline(ReadOnlyInline):
    model = Dispute
    fields = (
        "created_at",
        "stripe_dispute",
        "amount_cents",
        "reason",
        "status",
        "is_charge_refundable",
        "funds_withdrawn_at",
        "funds_reinstated_at",
        "closed_at",
    )
    readonly_fields = fields
    show_change_link = False

    @admin.display(description=_("Stripe dispute"))
    def stripe_dispute(self, dispute):
        return _stripe_link("disputes", dispute.stripe_dispute_id)


@admin.register(Order)
class OrderAdmin(BigTableAdmin, StaffActionsAdmin, ReadOnlyAdmin):
    list_display = (
        "number",
        "customer",
        "status",
        "plan_name",
        "paid",
        "payment_method_type",
        "created",
        "renewal",
    )
    list_filter = (
        "status",
        PaymentMethodFilter,
        RenewalStateFilter,
        "flag_reason",
        "created_at",
        "paid_at",
        "origin",
    )
    # Each key through its index; the customer's name (or part of an email) only when none matched.
    search_keys = {
        keys.ORDER_NUMBER: ("number",),
        keys.PHONE: ("customer__phone", "customer_phone"),
        keys.EMAIL: ("customer__email__lower", "customer_email__lower"),
        keys.ICCID: ("card__iccid",),
        keys.STRIPE_ID: (
            "stripe_payment_intent_id",
            "stripe_checkout_session_id",
            "stripe_charge_id",
            "stripe_customer_id",
            "refunds__stripe_refund_id",
        ),
    }
    search_fields = ("customer__name", "customer__email")
    search_help_text = _(
        "Order number, phone in any format, email, ICCID, Stripe id, or part of the customer's name."
    )
    list_select_related = ("customer", "card")
    inlines = (RefundInline, DisputeInline, DocumentInline, StartNowInline, WithdrawalInline)
    fieldsets = (
        (
            None,
            {"fields": ("number", "status", "renewal", "customer", "card", "new_esim", "origin", "language")},
        ),
        (
            _("As sold"),
            {
                "fields": (
                    "plan_name",
                    "plan_code",
                    "plan_period",
                    "allowance",
                    "list_price",
                    "promotion_code",
                    "discount",
                    "wallet_applied",
                    "charged",
                    "vat",
                    "refunded",
                )
            },
        ),
        (
            _("Times (Monaco)"),
            {
                "fields": (
                    "created",
                    "paid_time",
                    "fulfilled_time",
                    "flagged_time",
                    "flag_reason",
                    "last_error",
                )
            },
        ),
        (
            _("Stripe"),
            {
                "fields": (
                    "payment_method_type",
                    "stripe_payment_intent",
                    "stripe_checkout_session_id",
                    "stripe_charge",
                    "stripe_customer",
                )
            },
        ),
    )
    readonly_fields = (
        "number",
        "status",
        "renewal",
        "customer",
        "card",
        "new_esim",
        "origin",
        "language",
        "plan_name",
        "plan_code",
        "plan_period",
        "allowance",
        "list_price",
        "promotion_code",
        "discount",
        "wallet_applied",
        "charged",
        "vat",
        "refunded",
        "created",
        "paid_time",
        "fulfilled_time",
        "flagged_time",
        "flag_reason",
        "last_error",
        "payment_method_type",
        "stripe_payment_intent",
        "stripe_checkout_session_id",
        "stripe_charge",
        "stripe_customer",
    )
    staff_actions = (
        StaffAction(
            name="resend-confirmation",
            label=_("Resend the confirmation"),
            permission="support.order_resend_confirmation",
            perform=_order_resend,
            available=lambda order: order.status == Order.Status.FULFILLED,
            bulk=True,
        ),
        StaffAction(
            name="retry-fulfilment",
            label=_("Retry the fulfilment"),
            permission="support.order_retry_fulfilment",
            perform=_order_retry,
            available=lambda order: order.status == Order.Status.PAID,
            bulk=True,
        ),
        StaffAction(
            name="refund",
            label=_("Refund"),
            permission="support.order_refund",
            perform=_order_refund,
            form_class=RefundForm,
            description=_(
                "A refund to the original method goes through Stripe; a refund to credit goes to the "
                "customer's wallet. The card loses at most what is left of this top-up."
            ),
            # The same rule the refund service applies: never offered when it would be refused.
            available=lambda order: order_refund_blocker(order=order) is None,
            atomic=False,  # Stripe is asked with no row locked (billing.staff_actions.staff_order_refund)
        ),
    )

    def staff_action_form_kwargs(self, action, obj):
        return {"order": obj} if action.form_class is RefundForm else {}

    def get_queryset(self, request):
        # The Renewal column reads each order's top-up in the same query, not one query per row.
        return orders_with_granted_expiry(super().get_queryset(request))

    @admin.display(description=_("paid"))
    def paid(self, order):
        return format_money(order.paid_cents, order.currency)

    @admin.display(description=_("created"), ordering="created_at")
    def created(self, order):
        return format_monaco_datetime(order.created_at)

    @admin.display(description=_("paid at"))
    def paid_time(self, order):
        return format_monaco_datetime(order.paid_at) if order.paid_at else "—"

    @admin.display(description=_("renewed at"))
    def fulfilled_time(self, order):
        return format_monaco_datetime(order.fulfilled_at) if order.fulfilled_at else "—"

    @admin.display(description=_("flagged for support at"))
    def flagged_time(self, order):
        return format_monaco_datetime(order.flagged_at) if order.flagged_at else "—"

    @admin.display(description=_("renewal"))
    def renewal(self, order):
        return order_renewal_state(order)

    @admin.display(description=_("data"))
    def allowance(self, order):
        return format_gb(order.total_bytes)

    @admin.display(description=_("list price"))
    def list_price(self, order):
        return format_money(order.list_price_cents, order.currency)

    @admin.display(description=_("discount"))
    def discount(self, order):
        return format_money(order.discount_cents, order.currency)

    @admin.display(description=_("wallet credit used"))
    def wallet_applied(self, order):
        return format_money(order.wallet_applied_cents, order.currency)

    @admin.display(description=_("charged"))
    def charged(self, order):
        return format_money(order.amount_charged_cents, order.currency)

    @admin.display(description=_("VAT included"))
    def vat(self, order):
        return f"{format_money(order.vat_cents, order.currency)} ({order.vat_rate_bp / 100:.2f} %)"

    @admin.display(description=_("refunded"))
    def refunded(self, order):
        return format_money(order.refunded_amount_cents, order.currency)

    @admin.display(description=_("Stripe PaymentIntent"))
    def stripe_payment_intent(self, order):
        return _stripe_link("payments", order.stripe_payment_intent_id)

    @admin.display(description=_("Stripe charge"))
    def stripe_charge(self, order):
        return _stripe_link("payments", order.stripe_charge_id)

    @admin.display(description=_("Stripe customer"))
    def stripe_customer(self, order):
        return _stripe_link("customers", order.stripe_customer_id)


@admin.register(Refund)
class RefundAdmin(BigTableAdmin, ReadOnlyAdmin):
    list_display = (
        "created_at",
        "order",
        "amount_cents",
        "currency",
        "destination",
        "source",
        "status",
        "staff_user",
    )
    list_filter = ("status", "destination", "source", "created_at")
    search_keys = {keys.ORDER_NUMBER: ("order__number",), keys.STRIPE_ID: ("stripe_refund_id",)}
    search_fields = ("order__number", "stripe_refund_id")
    search_text = False
    list_select_related = ("order", "staff_user")


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "order",
        "stripe_dispute_id",
        "amount_cents",
        "reason",
        "status",
        "closed_at",
    )
    list_filter = ("status", "reason", ("closed_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("order__number", "stripe_dispute_id", "stripe_charge_id")
    list_select_related = ("order",)


@admin.register(WebhookEvent)
class WebhookEventAdmin(BigTableAdmin, StaffActionsAdmin, ReadOnlyAdmin):
    list_display = ("received_at", "type", "stripe_event_id", "processing_state", "attempts", "order")
    list_filter = (
        ("type", IndexedValuesListFilter),
        ("processed_at", admin.EmptyFieldListFilter),
        ("flagged_at", admin.EmptyFieldListFilter),
        "livemode",
        "received_at",
    )
    search_keys = {
        keys.STRIPE_ID: ("stripe_event_id",),
        keys.ORDER_NUMBER: ("order__number",),
        keys.TERM: ("type",),
    }
    search_fields = ("stripe_event_id", "type", "order__number")
    search_text = False  # every key above is exact; no scan of the payloads' table
    list_select_related = ("order",)
    fields = (
        "stripe_event_id",
        "type",
        "livemode",
        "order",
        "processing_state",
        "received_at",
        "processed_at",
        "next_attempt_at",
        "flagged_at",
        "attempts",
        "error",
        "pretty_payload",
    )
    readonly_fields = fields
    staff_actions = (
        StaffAction(
            name="rerun",
            label=_("Re-run this event"),
            permission="support.webhook_rerun",
            perform=_webhook_rerun,
            bulk=True,
        ),
    )

    @admin.display(description=_("processing"))
    def processing_state(self, event):
        if event.processed_at:
            return gettext("Processed")
        if event.next_attempt_at:
            return gettext("Waiting, next try %(time)s: %(error)s") % {
                "time": format_monaco_datetime(event.next_attempt_at),
                "error": event.error[:120],
            }
        if event.error:
            return gettext("Failed: %(error)s") % {"error": event.error[:120]}
        return gettext("Waiting")

    @admin.display(description=_("payload"))
    def pretty_payload(self, event):
        return format_html(
            "<pre>{}</pre>", json.dumps(event.payload, indent=2, sort_keys=True, ensure_ascii=False)
        )


class WalletEntryInline(ReadOnlyInline):
    model = WalletEntry
    fields = ("created_at", "kind", "amount_cents", "balance_after_cents", "order", "staff_user", "reason")
    readonly_fields = fields
    show_change_link = False


@admin.register(Wallet)
class WalletAdmin(StaffActionsAdmin, ReadOnlyAdmin):
    list_display = ("user", "balance", "updated_at")
    search_fields = ("user__email", "user__phone", "user__name")
    list_select_related = ("user",)
    fields = ("user", "balance", "updated_at")
    readonly_fields = fields
    inlines = (WalletEntryInline,)
    staff_actions = (
        StaffAction(
            name="goodwill",
            label=_("Add goodwill credit"),
            permission="support.wallet_credit",
            perform=_wallet_credit,
            form_class=GoodwillForm,
        ),
    )

    @admin.display(description=_("balance"), ordering="balance_cents")
    def balance(self, wallet):
        return format_money(wallet.balance_cents, wallet.currency)


@admin.register(WalletEntry)
class WalletEntryAdmin(BigTableAdmin, ReadOnlyAdmin):
    list_display = (
        "created_at",
        "wallet",
        "kind",
        "amount_cents",
        "balance_after_cents",
        "order",
        "staff_user",
    )
    list_filter = ("kind", "created_at")
    search_keys = {
        keys.EMAIL: ("wallet__user__email__lower",),
        keys.PHONE: ("wallet__user__phone",),
        keys.ORDER_NUMBER: ("order__number",),
    }
    search_fields = ("wallet__user__email", "wallet__user__phone", "order__number")
    search_text = False
    list_select_related = ("wallet__user", "order", "staff_user")


@admin.register(AutoRenewal)
class AutoRenewalAdmin(AuditedAdmin):
    list_display = (
        "card",
        "user",
        "plan",
        "enabled",
        "payment_method_type",
        "last_attempt_state",
        "last_attempt_at",
    )
    list_filter = ("enabled", "last_attempt_state", "payment_method_type")
    search_fields = ("card__iccid", "user__email")
    list_select_related = ("card", "user", "plan")
    fields = (
        "card",
        "user",
        "plan",
        "enabled",
        "consent_text",
        "consented_at",
        "payment_method_type",
        "payment_method_label",
        "last_attempt_state",
        "last_attempt_at",
        "last_order",
    )
    # Only switching it off is left to staff (a customer who asks by ticket); consent is the customer's.
    readonly_fields = tuple(field for field in fields if field != "enabled")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- Invoices and credit notes: support sees and resends them, nobody changes them ---------------


def _document_resend(request, document, data):
    notice = staff_actions.staff_invoice_resend(actor=request.user, document=document, reason=data["reason"])
    return gettext("%(number)s is on its way to %(email)s.") % {
        "number": document.number,
        "email": notice.recipient,
    }


@admin.register(Invoice)
class InvoiceAdmin(StaffActionsAdmin, ReadOnlyAdmin):
    list_display = ("number", "kind", "reason", "issued", "order", "buyer_name", "buyer_vat_id", "gross")
    list_filter = ("kind", "reason", "year", "buyer_vat_id_check", "issued_at")
    search_fields = (
        "number",
        "order__number",
        "buyer_name",
        "buyer_vat_id",
        "buyer_email",
        "order__customer__email",
    )
    list_select_related = ("order", "corrects")
    fieldsets = (
        (None, {"fields": ("number", "kind", "reason", "issued", "language", "order", "corrects", "refund")}),
        (_("Seller"), {"fields": ("seller_name", "seller_address", "seller_vat_id", "seller_registration")}),
        (
            _("Buyer"),
            {
                "fields": (
                    "buyer_name",
                    "buyer_address",
                    "buyer_country",
                    "buyer_vat_id",
                    "buyer_vat_id_check",
                    "buyer_email",
                )
            },
        ),
        (
            _("What was sold"),
            {
                "fields": (
                    "description",
                    "quantity",
                    "supplied",
                    "payment_method",
                    "vat_rate",
                    "net",
                    "vat",
                    "gross",
                )
            },
        ),
    )
    readonly_fields = (
        "number", "kind", "reason", "issued", "language", "order", "corrects", "refund",
        "seller_name", "seller_address", "seller_vat_id", "seller_registration",
        "buyer_name", "buyer_address", "buyer_country", "buyer_vat_id", "buyer_vat_id_check", "buyer_email",
        "description", "quantity", "supplied", "payment_method", "vat_rate", "net", "vat", "gross",
    )  # fmt: skip
    staff_actions = (
        StaffAction(
            name="resend",
            label=_("Email it to the customer again"),
            permission="billing.send_invoice",
            perform=_document_resend,
            description=_(
                "The PDF goes to the email address on the customer's account today. The document itself never changes."
            ),
            available=lambda document: bool(document.order.customer_id),
        ),
    )

    @admin.display(description=_("issued at"), ordering="issued_at")
    def issued(self, document):
        return format_monaco_datetime(document.issued_at)

    @admin.display(description=_("date of supply"))
    def supplied(self, document):
        return format_monaco_datetime(document.supplied_at)

    @admin.display(description=_("VAT rate"))
    def vat_rate(self, document):
        return f"{document.vat_percent} %"

    @admin.display(description=_("taxable amount"))
    def net(self, document):
        return signed_money(document.net_cents, document.currency)

    @admin.display(description=_("VAT"))
    def vat(self, document):
        return signed_money(document.vat_cents, document.currency)

    @admin.display(description=_("total (VAT included)"))
    def gross(self, document):
        return signed_money(document.gross_cents, document.currency)


@admin.register(Withdrawal)
class WithdrawalAdmin(ReadOnlyAdmin):
    """Customers' withdrawals from purchases (Art. 11a): support sees them as such, never edits them."""

    list_display = ("requested", "order", "refund", "shares", "acknowledged_on", "refund_error")
    list_filter = ("requested_at", "acknowledged_on")
    search_fields = ("order__number", "order__customer__email", "order__customer__phone")
    list_select_related = ("order",)
    fields = (
        "order", "user", "requested", "data_unused_bp", "time_unused_bp", "refund", "to_method_cents",
        "to_wallet_cents", "method_refund", "wallet_refund", "refund_error", "acknowledged_on",
    )  # fmt: skip
    readonly_fields = fields

    @admin.display(description=_("received at"), ordering="requested_at")
    def requested(self, withdrawal):
        return format_monaco_datetime(withdrawal.requested_at)

    @admin.display(description=_("refund"))
    def refund(self, withdrawal):
        return format_money(withdrawal.refund_cents, withdrawal.order.currency)

    @admin.display(description=_("unused data / validity"))
    def shares(self, withdrawal):
        return f"{withdrawal.data_unused_bp / 100:.1f} % / {withdrawal.time_unused_bp / 100:.1f} %"
