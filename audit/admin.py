import json

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from audit.admin_mixins import BigTableAdmin, IndexedValuesListFilter, ReadOnlyAdmin
from audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(BigTableAdmin, ReadOnlyAdmin):
    list_display = (
        "created_at",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "object_label",
        "short_reason",
    )
    list_filter = (
        ("action", IndexedValuesListFilter),
        ("object_type", IndexedValuesListFilter),
        "created_at",
    )
    search_fields = ("actor_label", "object_id", "object_label", "reason")
    fields = (
        "created_at",
        "actor",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "object_label",
        "reason",
        "before_json",
        "after_json",
    )
    readonly_fields = fields

    @admin.display(description=_("reason"))
    def short_reason(self, entry):
        return entry.reason[:80]

    @admin.display(description=_("before"))
    def before_json(self, entry):
        return format_html("<pre>{}</pre>", json.dumps(entry.before, indent=2, ensure_ascii=False))

    @admin.display(description=_("after"))
    def after_json(self, entry):
        return format_html("<pre>{}</pre>", json.dumps(entry.after, indent=2, ensure_ascii=False))
