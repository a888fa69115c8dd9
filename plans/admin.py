from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TranslationAdmin

from audit.admin_mixins import AuditedAdmin
from plans.models import Plan, Promotion
from portal.lib.display import format_data, format_gb, format_money


@admin.register(Plan)
class PlanAdmin(AuditedAdmin, TranslationAdmin):
    list_display = (
        "name",
        "code",
        "period",
        "allowance",
        "price",
        "vat_rate_bp",
        "is_active",
        "display_order",
    )
    list_editable = ()
    list_filter = ("period", "is_active")
    search_fields = ("code", "name")
    ordering = ("display_order", "price_cents")

    @admin.display(description=_("data"))
    def allowance(self, plan):
        return format_gb(plan.data_bytes)

    @admin.display(description=_("price"), ordering="price_cents")
    def price(self, plan):
        return format_money(plan.price_cents, plan.currency)


@admin.register(Promotion)
class PromotionAdmin(AuditedAdmin, TranslationAdmin):
    list_display = (
        "code",
        "discount_percent",
        "discount_cents",
        "bonus",
        "valid_from",
        "valid_until",
        "is_active",
    )
    list_filter = ("is_active",)
    search_fields = ("code",)
    filter_horizontal = ("plans",)

    @admin.display(description=_("bonus data"), ordering="bonus_bytes")
    def bonus(self, promotion):
        return format_data(promotion.bonus_bytes) if promotion.bonus_bytes else "—"
