from allauth.account.models import EmailAddress
from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst, format_lazy
from django.utils.translation import gettext, ngettext, pgettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from audit.admin_mixins import (
    AUDIT_REASON_FIELD,
    AuditedAdmin,
    BigTableAdmin,
    ReadOnlyAdmin,
    ReadOnlyInline,
    StaffAction,
    StaffActionsAdmin,
)
from audit.services import audit_record
from billing import staff_actions
from billing.forms import GoodwillForm
from billing.models import Order, Wallet
from billing.selectors import order_renewal_state
from notices.models import Notification
from portal.lib import search_keys as keys
from portal.lib.display import format_gb, format_monaco_datetime
from portal.lib.money import euros_to_cents
from support.models import ExportJob, Ticket, TicketMessage
from support.services import TicketClosedError, ticket_answer
from usage.models import Card

admin.site.site_header = format_lazy(_("{site} staff"), site=settings.SITE_NAME)
admin.site.site_title = admin.site.site_header
admin.site.index_title = _("Support desk and finance")


class TicketMessageInline(ReadOnlyInline):
    model = TicketMessage
    fields = ("created_at", "from_support", "author", "body")
    readonly_fields = fields
    show_change_link = False
    verbose_name_plural = _("conversation")


class TicketAdminForm(forms.ModelForm):
    answer = forms.CharField(
        label=_("Answer the customer"),
        help_text=_("Sent by email in the customer's language and shown on their “My requests” page."),
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80}),
        required=False,
        max_length=5000,
    )

    class Meta:
        model = Ticket
        fields = ("status",)


@admin.register(Ticket)
class TicketAdmin(AuditedAdmin):
    form = TicketAdminForm
    list_display = ("__str__", "user", "status", "topic", "card", "order", "updated_at")
    list_filter = ("status", "topic", "created_at")
    search_fields = (
        "user__email",
        "user__phone",
        "user__name",
        "order__number",
        "card__iccid",
        "messages__body",
    )
    list_select_related = ("user", "card", "order")
    fieldsets = (
        (None, {"fields": ("user", "topic", "card", "order", "order_renewal", "status", "created_at")}),
        (_("Customer"), {"fields": ("customer_overview",)}),
        (_("Answer"), {"fields": ("answer",)}),
    )
    readonly_fields = ("user", "topic", "card", "order", "order_renewal", "created_at", "customer_overview")
    inlines = (TicketMessageInline,)

    def has_add_permission(self, request):
        return False  # travellers open tickets from the site

    def has_delete_permission(self, request, obj=None):
        return False

    def _asks_for_reason(self, request, obj):
        return False  # the answer itself is the record

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if not self.has_change_permission(request, obj):
            return [
                fs
                for fs in fieldsets
                if "answer" not in fs[1]["fields"] and AUDIT_REASON_FIELD not in fs[1]["fields"]
            ]
        return fieldsets

    def save_model(self, request, obj, form, change):
        answer = form.cleaned_data.get("answer", "").strip()
        if "status" in form.changed_data or not answer:
            super().save_model(request, obj, form, change)
        if answer:
            try:
                ticket_answer(ticket=obj, staff_user=request.user, body=answer)
            except TicketClosedError as error:
                self.message_user(request, str(error), level="error")

    @admin.display(description=_("order renewal"))
    def order_renewal(self, ticket):
        if ticket.order is None:
            return "—"
        return order_renewal_state(ticket.order)

    @admin.display(description=_("cards, orders and wallet"))
    def customer_overview(self, ticket):
        user = ticket.user
        cards = list(user.cards.all())
        now = timezone.now()
        for card in cards:
            card.state_label = card.State(card.state_at(now)).label
        return render_to_string(
            "admin/support/customer_overview.html",
            {
                "customer": user,
                "cards": cards,
                "orders": Order.objects.filter(customer=user).select_related("card")[:10],
                "wallet": Wallet.objects.filter(user=user).first(),
            },
        )


@admin.register(TicketMessage)
class TicketMessageAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "ticket", "from_support", "author")
    search_fields = ("body", "ticket__user__email")
    list_select_related = ("ticket", "author")


@admin.register(ExportJob)
class ExportJobAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "user", "file_format", "status", "rows_done", "rows_total", "expires_at")
    list_filter = ("status", "file_format")


# --- Customers: the desk's page on a customer (cards, orders, tickets, wallet, notices) -----------


class EmailAddressInline(ReadOnlyInline):
    model = EmailAddress
    fields = ("email", "verified", "primary")
    verbose_name = _("login email address")
    verbose_name_plural = _("login email addresses")
    show_change_link = False


# A customer's page shows their latest cards and orders; the rest are one link away (the lists
# filtered by customer), so the page costs the same after a year of daily plans.
CUSTOMER_PAGE_LATEST = 20


class LatestOnlyInline(ReadOnlyInline):
    """The latest CUSTOMER_PAGE_LATEST rows, and a link to all of them when there are more."""

    template = "admin/support/latest_only_tabular.html"
    latest_ordering: tuple[str, ...] = ()
    see_all_url = ""
    see_all_label = ""

    def latest_for(self, customer):
        """The latest rows (a subquery, read with the inline's own query) and how many there are."""
        rows = self.model._default_manager.filter(**{self.fk_name: customer})
        latest = rows.order_by(*self.latest_ordering).values("pk")[:CUSTOMER_PAGE_LATEST]
        return latest, rows.count()  # counted every time: the page's queries never depend on its data


class CardInline(LatestOnlyInline):
    model = Card
    fk_name = "owner"
    latest_ordering = ("-created_at", "-id")
    fields = ("iccid", "kind", "label", "state", "expiry", "data_left")
    readonly_fields = fields

    @admin.display(description=_("state"))
    def state(self, card):
        return Card.State(card.state_at(timezone.now())).label

    @admin.display(description=_("expires"))
    def expiry(self, card):
        return format_monaco_datetime(card.expires_at) if card.expires_at else "—"

    @admin.display(description=_("data remaining"))
    def data_left(self, card):
        return format_gb(card.data_remaining_at(timezone.now()))


class TicketInline(ReadOnlyInline):
    model = Ticket
    fields = ("topic", "status", "updated_at")
    readonly_fields = fields
    verbose_name_plural = _("support requests")


def _see_all_label(model, total: int) -> str:
    if model is Order:
        return ngettext("See all %(count)d order", "See all %(count)d orders", total) % {"count": total}
    return ngettext("See all %(count)d card", "See all %(count)d cards", total) % {"count": total}


def _goodwill_credit(request, user, data):
    staff_actions.staff_wallet_credit(
        actor=request.user, user=user, amount_cents=euros_to_cents(data["amount"]), reason=data["reason"]
    )
    return gettext("Goodwill credit added.")


@admin.register(User)
class UserAdmin(BigTableAdmin, StaffActionsAdmin, AuditedAdmin, BaseUserAdmin):
    list_display = ("__str__", "name", "phone", "language", "is_staff", "date_joined")
    list_filter = ("is_staff", "is_active", "language", "groups")
    # Each key through its index; the name or part of an email only when none matched.
    search_keys = {
        keys.PHONE: ("phone",),
        keys.EMAIL: ("email__lower", "emailaddress__email"),
        keys.ICCID: ("cards__iccid",),
        keys.ORDER_NUMBER: ("orders__number",),
        keys.STRIPE_ID: (
            "orders__stripe_payment_intent_id",
            "orders__stripe_checkout_session_id",
            "orders__stripe_charge_id",
            "orders__stripe_customer_id",
            "orders__refunds__stripe_refund_id",
        ),
    }
    search_fields = ("name", "email")
    search_help_text = _("Email, phone in any format, name, ICCID, order number or Stripe id.")
    ordering = ("-date_joined",)
    readonly_fields = (
        "date_joined",
        "last_login",
        "anonymised_at",
        "latest_orders",
        "wallet_summary",
        "notices_sent",
    )
    fieldsets = (
        (None, {"fields": ("email", "phone", "phone_verified", "name", "password")}),
        (_("Preferences"), {"fields": ("language", "notify_email", "notify_sms")}),
        (capfirst(Order._meta.verbose_name_plural), {"fields": ("latest_orders",)}),
        (_("Wallet and notices"), {"fields": ("wallet_summary", "notices_sent")}),
        (
            _("Staff access"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups"), "classes": ("collapse",)},
        ),
        (_("Dates"), {"fields": ("date_joined", "last_login", "anonymised_at")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "phone", "name", "password1", "password2")}),
    )
    filter_horizontal = ("groups",)
    inlines = (EmailAddressInline, CardInline, TicketInline)

    staff_actions = (
        StaffAction(
            name="goodwill",
            label=_("Add goodwill credit"),
            permission="support.wallet_credit",
            perform=_goodwill_credit,
            form_class=GoodwillForm,
        ),
    )

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or self.has_change_permission(request, obj):
            return fieldsets
        # Django's read-only password shows a "Reset password" button that leads to a 403 for
        # anyone who may not change users (support): show whether there is one, nothing to press.
        return tuple(
            (
                name,
                {
                    **options,
                    "fields": tuple("password_state" if f == "password" else f for f in options["fields"]),
                },
            )
            for name, options in fieldsets
        )

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "password_state")

    @admin.display(description=_("password"))
    def password_state(self, user):
        if user.has_usable_password():
            return pgettext("password", "Set")
        return gettext("None: signs in with a code")

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            user = self.get_object(request, id)
            audit_record(actor=request.user, action="admin_set_password", obj=user, reason="")
        return response

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if obj is not None and obj.pk and isinstance(inline, LatestOnlyInline):
            latest, total = inline.latest_for(obj)
            kwargs["queryset"] = inline.get_queryset(request).filter(pk__in=latest)
            if total > CUSTOMER_PAGE_LATEST:
                opts = inline.model._meta
                url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
                inline.see_all_url = f"{url}?{inline.fk_name}__id__exact={obj.pk}"
                inline.see_all_label = _see_all_label(inline.model, total)
        return kwargs

    @admin.display(description=_("orders"))
    def latest_orders(self, user):
        # A plain table, not an inline formset: 20 read-only rows of a formset (forms, hidden
        # fields through widget templates) cost the page more than everything else on it.
        orders = Order.objects.filter(customer=user).order_by("-created_at", "-id")
        latest = list(orders[:CUSTOMER_PAGE_LATEST])
        total = orders.count()  # counted every time: the page's queries never depend on its data
        see_all_url = see_all_label = ""
        if total > CUSTOMER_PAGE_LATEST:
            see_all_url = reverse("admin:billing_order_changelist") + f"?customer__id__exact={user.pk}"
            see_all_label = _see_all_label(Order, total)
        return render_to_string(
            "admin/support/customer_orders.html",
            {"orders": latest, "see_all_url": see_all_url, "see_all_label": see_all_label},
        )

    @admin.display(description=_("wallet"))
    def wallet_summary(self, user):
        wallet = Wallet.objects.filter(user=user).first()
        entries = wallet.entries.all()[:20] if wallet else []
        return render_to_string("admin/support/wallet_summary.html", {"wallet": wallet, "entries": entries})

    @admin.display(description=_("notices sent (latest 30)"))
    def notices_sent(self, user):
        notices = Notification.objects.filter(user=user).order_by("-created_at")[:30]
        return render_to_string("admin/support/notices_sent.html", {"notices": notices})


def _audit_every_other_admin() -> None:
    """Admins registered by Django and libraries (groups, allauth addresses, beat schedules) get
    the audit trail too. support is the last app, so every other admin is registered by now."""
    for model, model_admin in list(admin.site._registry.items()):
        if isinstance(model_admin, (AuditedAdmin, ReadOnlyAdmin)):
            continue
        audited = type(f"Audited{type(model_admin).__name__}", (AuditedAdmin, type(model_admin)), {})
        admin.site.unregister(model)
        admin.site.register(model, audited)


_audit_every_other_admin()
