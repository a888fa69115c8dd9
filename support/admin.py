from django import forms
from django.conf import settings
from django.contrib import admin
from django.template.loader import render_to_string
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from audit.admin_mixins import AUDIT_REASON_FIELD, AuditedAdmin, ReadOnlyAdmin, ReadOnlyInline
from billing.models import Order, Wallet
from support.models import ExportJob, Ticket, TicketMessage
from support.selectors import order_renewal_state
from support.services import TicketClosedError, ticket_answer

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
    list_filter = ("status", "topic")
    search_fields = (
        "user__email",
        "user__phone",
        "user__name",
        "order__number",
        "card__iccid",
        "messages__body",
    )
    list_select_related = ("user", "card", "order")
    date_hierarchy = "created_at"
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
        from django.utils import timezone

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
