from allauth.account.models import EmailAddress
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.template.loader import render_to_string
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from audit.admin_mixins import (
    AuditedAdmin,
    ReadOnlyInline,
    StaffAction,
    StaffActionsAdmin,
)
from audit.services import audit_record
from billing.forms import GoodwillForm
from billing.models import Order, Wallet
from notices.models import Notification
from portal.lib.money import euros_to_cents
from support import actions
from support.models import Ticket
from support.search import customers_search
from usage.display import format_gb, format_monaco_datetime, format_money
from usage.models import Card


class EmailAddressInline(ReadOnlyInline):
    model = EmailAddress
    fields = ("email", "verified", "primary")
    verbose_name = _("login email address")
    verbose_name_plural = _("login email addresses")
    show_change_link = False


class CardInline(ReadOnlyInline):
    model = Card
    fk_name = "owner"
    fields = ("iccid", "kind", "label", "state", "expiry", "data_left")
    readonly_fields = fields

    @admin.display(description=_("state"))
    def state(self, card):
        from django.utils import timezone

        return Card.State(card.state_at(timezone.now())).label

    @admin.display(description=_("expires"))
    def expiry(self, card):
        return format_monaco_datetime(card.expires_at) if card.expires_at else "—"

    @admin.display(description=_("data remaining"))
    def data_left(self, card):
        from django.utils import timezone

        return format_gb(card.data_remaining_at(timezone.now()))


class OrderInline(ReadOnlyInline):
    model = Order
    fk_name = "customer"
    fields = ("number", "status", "plan_name", "paid", "method", "created")
    readonly_fields = fields
    ordering = ("-created_at",)

    @admin.display(description=_("paid"))
    def paid(self, order):
        return format_money(order.paid_cents, order.currency)

    @admin.display(description=_("payment method"))
    def method(self, order):
        return order.payment_method_type or "—"

    @admin.display(description=_("created"))
    def created(self, order):
        return format_monaco_datetime(order.created_at)


class TicketInline(ReadOnlyInline):
    model = Ticket
    fields = ("topic", "status", "updated_at")
    readonly_fields = fields
    verbose_name_plural = _("support requests")


def _goodwill_credit(request, user, data):
    actions.staff_wallet_credit(
        actor=request.user, user=user, amount_cents=euros_to_cents(data["amount"]), reason=data["reason"]
    )
    return gettext("Goodwill credit added.")


@admin.register(User)
class UserAdmin(StaffActionsAdmin, AuditedAdmin, BaseUserAdmin):
    list_display = ("__str__", "name", "phone", "language", "is_staff", "date_joined")
    list_filter = ("is_staff", "is_active", "language", "groups")
    search_fields = ("email", "name", "phone")
    search_help_text = _("Email, phone in any format, name, ICCID, order number or Stripe id.")
    ordering = ("-date_joined",)
    readonly_fields = ("date_joined", "last_login", "anonymised_at", "wallet_summary", "notices_sent")
    fieldsets = (
        (None, {"fields": ("email", "phone", "phone_verified", "name", "password")}),
        (_("Preferences"), {"fields": ("language", "notify_email", "notify_sms")}),
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
    inlines = (EmailAddressInline, CardInline, OrderInline, TicketInline)

    staff_actions = (
        StaffAction(
            name="goodwill",
            label=_("Add goodwill credit"),
            permission="support.wallet_credit",
            perform=_goodwill_credit,
            form_class=GoodwillForm,
        ),
    )

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            user = self.get_object(request, id)
            audit_record(actor=request.user, action="admin_set_password", obj=user, reason="")
        return response

    def get_search_results(self, request, queryset, search_term):
        return customers_search(queryset, search_term), True

    @admin.display(description=_("wallet"))
    def wallet_summary(self, user):
        wallet = Wallet.objects.filter(user=user).first()
        entries = wallet.entries.all()[:20] if wallet else []
        return render_to_string("admin/support/wallet_summary.html", {"wallet": wallet, "entries": entries})

    @admin.display(description=_("notices sent (latest 30)"))
    def notices_sent(self, user):
        notices = Notification.objects.filter(user=user).order_by("-created_at")[:30]
        return render_to_string("admin/support/notices_sent.html", {"notices": notices})
