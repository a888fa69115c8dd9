import json

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from audit.admin_mixins import BigTableAdmin, IndexedValuesListFilter, ReadOnlyAdmin
from notices.models import Notification
from portal.lib import search_keys as keys
from portal.lib.redact import redact


@admin.register(Notification)
class NotificationAdmin(BigTableAdmin, ReadOnlyAdmin):
    list_display = ("kind", "channel", "recipient", "status", "attempts", "created_at", "sent_at")
    list_filter = ("status", "channel", ("kind", IndexedValuesListFilter), "created_at")
    search_keys = {
        keys.EMAIL: ("recipient", "user__email__lower"),
        keys.PHONE: ("recipient", "user__phone"),
        keys.TERM: ("dedupe_key",),
    }
    search_fields = ("recipient", "dedupe_key", "user__email")
    search_text = False  # a notice is found by its recipient (email or phone) or its dedupe key
    search_help_text = _("Email or phone number of the recipient (any format), or the dedupe key.")
    list_select_related = ("user",)
    readonly_fields = ("context_for_staff",)

    def get_fields(self, request, obj=None):
        # The context shown in its place, masked; the stored one (what the customer got) is untouched.
        fields = [field for field in super().get_fields(request, obj) if field != "context_for_staff"]
        return ["context_for_staff" if field == "context" else field for field in fields]

    @admin.display(description=_("context"))
    def context_for_staff(self, notice: Notification) -> str:
        # A renew link's token lets whoever holds it pay for that card without logging in: staff see
        # its first four characters, enough to match a complaint, as in the logs (portal.lib.redact).
        return format_html("<pre>{}</pre>", redact(json.dumps(notice.context, indent=2, ensure_ascii=False)))
