from django.contrib import admin

from audit.admin_mixins import ReadOnlyAdmin
from notices.models import Notification


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("kind", "channel", "recipient", "status", "attempts", "created_at", "sent_at")
    list_filter = ("status", "channel", "kind")
    search_fields = ("recipient", "dedupe_key", "user__email")
    list_select_related = ("user",)
    date_hierarchy = "created_at"
