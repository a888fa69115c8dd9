from datetime import timedelta
from decimal import Decimal

from django import forms
from django.contrib import admin
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from audit.admin_mixins import (
    AuditedAdmin,
    BigTableAdmin,
    ReadOnlyAdmin,
    ReadOnlyInline,
    ReasonForm,
    StaffAction,
    StaffActionsAdmin,
)
from portal.lib import search_keys as keys
from portal.lib.display import format_data, format_gb, format_monaco_datetime
from portal.lib.units import BYTES_PER_GB
from usage import staff_actions
from usage.models import Card, LedgerEntry, ProvisioningEvent, UsageRecord
from usage.provisioning import provisioning_event_resend_blocker


class CardAdjustForm(ReasonForm):
    data_gb = forms.DecimalField(
        label=_("Data change (GB)"),
        help_text=_("Positive adds data, negative removes it. Leave 0 to change only the expiry."),
        max_digits=8,
        decimal_places=3,
        initial=Decimal("0"),
    )
    extend_hours = forms.IntegerField(
        label=_("Move the expiry by (hours)"),
        help_text=_("Positive extends, negative shortens. Ignored when a new expiry is given below."),
        initial=0,
        required=False,
    )
    new_expiry = forms.DateTimeField(
        label=_("Or set a new expiry (Monaco time)"),
        help_text=_("Format: 2026-12-03 14:05"),
        required=False,
    )
    field_order = ["data_gb", "extend_hours", "new_expiry", "reason"]

    def __init__(self, *args, card: Card, **kwargs):
        self.card = card
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        data_gb = cleaned.get("data_gb") or Decimal("0")
        cleaned["data_delta"] = int(data_gb * BYTES_PER_GB)
        expires_at = cleaned.get("new_expiry")
        hours = cleaned.get("extend_hours") or 0
        if expires_at is None and hours:
            base = self.card.expires_at or timezone.now()
            expires_at = base + timedelta(hours=hours)
        cleaned["expires_at"] = expires_at
        if cleaned["data_delta"] == 0 and expires_at is None:
            raise forms.ValidationError(gettext("Change the data, the expiry, or both."))
        return cleaned


def _card_adjust(request, card, data):
    card = staff_actions.staff_card_adjust(
        actor=request.user,
        card=card,
        data_delta=data["data_delta"],
        expires_at=data["expires_at"],
        reason=data["reason"],
    )
    return gettext("Card adjusted: %(data)s left, expires %(expiry)s.") % {
        "data": format_gb(card.data_remaining),
        "expiry": format_monaco_datetime(card.expires_at) if card.expires_at else "—",
    }


def _card_suspend(request, card, data):
    staff_actions.staff_card_suspend(actor=request.user, card=card, reason=data["reason"])
    return gettext("Card suspended.")


def _card_resume(request, card, data):
    staff_actions.staff_card_resume(actor=request.user, card=card, reason=data["reason"])
    return gettext("Card resumed.")


INLINE_LIMIT = 100


class _LedgerAmountsMixin:
    """A ledger entry's data in MB or GB (a few MB of usage must not read as 0.0 GB), never bytes."""

    @admin.display(description=_("data change"))
    def data_change(self, entry):
        return format_data(entry.data_delta, signed=True)

    @admin.display(description=_("data remaining after"))
    def data_left_after(self, entry):
        return format_data(entry.data_after)


class LedgerInline(_LedgerAmountsMixin, ReadOnlyInline):
    model = LedgerEntry
    verbose_name_plural = _("ledger (latest 100 entries)")
    fields = (
        "created_at",
        "kind",
        "data_change",
        "data_left_after",
        "expires_before",
        "expires_after",
        "order_id",
        "staff_user",
        "reason",
    )
    readonly_fields = fields
    ordering = ("-created_at", "-id")
    show_change_link = False


class ProvisioningInline(ReadOnlyInline):
    model = ProvisioningEvent
    ordering = ("-created_at", "-id")
    fields = ("created_at", "ledger_entry", "state", "attempts", "last_error", "sent_at", "next_attempt_at")
    readonly_fields = fields
    verbose_name_plural = _("provisioning events (delivery to the carrier)")


@admin.register(Card)
class CardAdmin(BigTableAdmin, StaffActionsAdmin, AuditedAdmin):
    list_display = ("iccid", "kind", "owner", "state", "expiry", "data_left", "usage_updated_at")
    list_filter = (
        "kind",
        ("suspended_at", admin.EmptyFieldListFilter),
        ("owner", admin.EmptyFieldListFilter),
    )
    # Each key through its index; the owner's name, part of an email or the label only when none matched.
    search_keys = {
        keys.ICCID: ("iccid",),
        keys.PHONE: ("owner__phone",),
        keys.EMAIL: ("owner__email__lower",),
        keys.ORDER_NUMBER: ("orders__number",),
        keys.STRIPE_ID: (
            "orders__stripe_payment_intent_id",
            "orders__stripe_checkout_session_id",
            "orders__stripe_charge_id",
            "orders__stripe_customer_id",
        ),
    }
    search_fields = ("owner__name", "owner__email", "label")
    search_help_text = _(
        "ICCID, the owner's phone in any format or email, an order number or Stripe id, a name."
    )
    list_select_related = ("owner",)
    raw_id_fields = ("owner",)
    fields = (
        "iccid",
        "kind",
        "owner",
        "label",
        "state",
        "expiry",
        "data_left",
        "period_started_at",
        "allowance_this_period",
        "overage_this_period",
        "usage_updated_at",
        "suspended_at",
        "activation_code",
        "allocated_at",
        "created_at",
        "recent_usage",
        "full_ledger",
    )
    readonly_fields = (
        "full_ledger",
        "state",
        "expiry",
        "data_left",
        "period_started_at",
        "allowance_this_period",
        "overage_this_period",
        "usage_updated_at",
        "suspended_at",
        "allocated_at",
        "created_at",
        "recent_usage",
    )
    inlines = (LedgerInline, ProvisioningInline)
    change_list_template = "admin/usage/card/change_list.html"
    staff_actions = (
        StaffAction(
            name="adjust",
            label=_("Adjust data or expiry"),
            permission="support.card_adjust",
            perform=_card_adjust,
            form_class=CardAdjustForm,
            description=_("Written to the card's ledger as an adjustment and sent to the carrier."),
        ),
        StaffAction(
            name="suspend",
            label=_("Suspend"),
            permission="support.card_suspend",
            perform=_card_suspend,
            available=lambda card: card.suspended_at is None,
        ),
        StaffAction(
            name="resume",
            label=_("Resume"),
            permission="support.card_suspend",
            perform=_card_resume,
            available=lambda card: card.suspended_at is not None,
        ),
    )

    def staff_action_form_kwargs(self, action, obj):
        return {"card": obj} if action.form_class is CardAdjustForm else {}

    def get_formset_kwargs(self, request, obj, inline, prefix):
        # A card with months of usage has thousands of ledger entries: the page shows the latest;
        # the full ledger is one click away (the ledger changelist filtered by card).
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if obj is not None and obj.pk and isinstance(inline, (LedgerInline, ProvisioningInline)):
            model = inline.model
            latest = (
                model.objects.filter(card=obj)
                .order_by("-created_at", "-id")
                .values_list("pk", flat=True)[:INLINE_LIMIT]
            )
            kwargs["queryset"] = inline.get_queryset(request).filter(pk__in=list(latest))
        return kwargs

    @admin.display(description=_("full ledger"))
    def full_ledger(self, card):
        url = reverse("admin:usage_ledgerentry_changelist") + f"?card__id__exact={card.pk}"
        return format_html('<a href="{}">{}</a>', url, gettext("All ledger entries of this card"))

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        # The link to the full ledger only for who may open it (finance sees cards, not ledgers).
        ledger_admin = self.admin_site._registry.get(LedgerEntry)
        if ledger_admin is None or not ledger_admin.has_view_permission(request):
            fields = [field for field in fields if field != "full_ledger"]
        return fields

    def get_readonly_fields(self, request, obj=None):
        # The cache fields follow the ledger; the ICCID identifies the card once it exists.
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields += ["iccid", "kind", "activation_code"]
        return fields

    @admin.display(description=_("state"))
    def state(self, card):
        return Card.State(card.state_at(timezone.now())).label

    @admin.display(description=_("expires"), ordering="expires_at")
    def expiry(self, card):
        return format_monaco_datetime(card.expires_at) if card.expires_at else "—"

    @admin.display(description=_("data remaining"), ordering="data_remaining")
    def data_left(self, card):
        return format_gb(card.data_remaining_at(timezone.now()))

    @admin.display(description=_("data granted this period"))
    def allowance_this_period(self, card):
        return format_data(card.period_allowance)

    @admin.display(description=_("usage beyond the allowance"))
    def overage_this_period(self, card):
        return format_data(card.overage_bytes)

    @admin.display(description=_("latest usage records"))
    def recent_usage(self, card):
        records = card.usage_records.order_by("-start")[:20] if card.pk else []
        return render_to_string("admin/support/usage_records.html", {"records": records})


@admin.register(LedgerEntry)
class LedgerEntryAdmin(BigTableAdmin, _LedgerAmountsMixin, ReadOnlyAdmin):
    list_display = (
        "created_at",
        "card",
        "kind",
        "data_change",
        "data_left_after",
        "expires_after",
        "order_id",
        "staff_user",
        "cause",
    )
    list_filter = ("kind", "created_at")
    search_keys = {keys.ICCID: ("card__iccid",)}
    search_fields = ("card__iccid", "reason")
    list_select_related = ("card", "staff_user")

    def get_ordering(self, request):
        # Latest first. One card's entries come in the order its ("card", "created_at") index
        # keeps; the whole ledger in id order, which follows time for an append-only table and
        # needs no index of its own on a table that usage ingestion writes all day.
        if "card__id__exact" in request.GET:
            return ("-created_at", "-id")
        return ("-id",)

    @admin.display(description=_("usage records"))
    def cause(self, entry):
        """A usage entry's cause is the records it applied: a link to them (through the card's index)."""
        if entry.kind != LedgerEntry.Kind.USAGE:
            return "—"
        url = reverse("admin:usage_usagerecord_changelist") + (
            f"?card__id__exact={entry.card_id}&ledger_entry__id__exact={entry.pk}"
        )
        return format_html('<a href="{}">{}</a>', url, gettext("Records applied"))


@admin.register(UsageRecord)
class UsageRecordAdmin(BigTableAdmin, ReadOnlyAdmin):
    list_display = (
        "record_id",
        "card",
        "start",
        "end",
        "data_used",
        "overage",
        "received_at",
        "ledger_entry",
    )
    search_keys = {keys.TERM: ("record_id",), keys.ICCID: ("card__iccid",)}
    search_fields = ("record_id", "card__iccid")
    search_text = False  # tens of millions of rows: exact record id or ICCID only
    list_select_related = ("card", "ledger_entry")

    def get_ordering(self, request):
        # Latest received first (id order, the primary key's index); one card's records by their
        # start, which the ("card", "start") index keeps.
        if "card__id__exact" in request.GET:
            return ("-start", "-id")
        return ("-id",)

    @admin.display(description=_("data used"), ordering="bytes")
    def data_used(self, record):
        return format_data(record.bytes)

    @admin.display(description=_("overage"), ordering="overage_bytes")
    def overage(self, record):
        return format_data(record.overage_bytes)


def _provisioning_event_resend(request, event, data):
    staff_actions.staff_provisioning_event_resend(actor=request.user, event=event, reason=data["reason"])
    return gettext("The event will be sent to the carrier again.")


@admin.register(ProvisioningEvent)
class ProvisioningEventAdmin(BigTableAdmin, StaffActionsAdmin, ReadOnlyAdmin):
    list_display = ("created_at", "card", "ledger_entry", "state", "attempts", "sent_at", "next_attempt_at")
    list_filter = ("state",)
    search_keys = {keys.ICCID: ("card__iccid",)}
    search_fields = ("card__iccid",)
    search_text = False
    list_select_related = ("card", "ledger_entry")
    ordering = ("-id",)  # latest first through the primary key (one event per ledger change)
    staff_actions = (
        StaffAction(
            name="resend",
            label=_("Send to the carrier again"),
            # Re-sending a change the network never received is retrying its fulfilment.
            permission="support.order_retry_fulfilment",
            perform=_provisioning_event_resend,
            description=_(
                "Starts the delivery again from the first attempt. Offered when the carrier never "
                "acknowledged the event and no later change of the card reached it."
            ),
            available=lambda event: not provisioning_event_resend_blocker(event=event),
            bulk=True,
        ),
    )
