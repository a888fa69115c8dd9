from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from audit.admin_mixins import BigTableAdmin, IndexedValuesListFilter, ReadOnlyAdmin
from notices.models import Notification
from portal.lib import search_keys as keys


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
