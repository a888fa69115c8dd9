from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    """One notice on one channel. The unique dedupe key makes every send at most once."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="notifications"
    )
    kind = models.CharField(_("kind"), max_length=40)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    # e.g. "confirmation:order:42:email", "alert:data-75:card:7:period:2026-11-25T10:00:00+00:00:sms"
    dedupe_key = models.CharField(_("dedupe key"), max_length=200, unique=True)
    recipient = models.CharField(_("recipient"), max_length=254)
    language = models.CharField(_("language"), max_length=10)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    context = models.JSONField(_("context"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    # Set while a worker delivers it; see notices.services.notification_claim.
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        # The table predates this app (notices moved out of accounts); keeping its name moved no data.
        db_table = "accounts_notification"
        ordering = ["-created_at"]
        # Support finds the notices sent to an address or number (the admin searches it exactly).
        indexes = [
            models.Index(fields=["recipient"], name="notification_recipient_idx"),
            # The admin's filter by kind reads the kinds through it (audit.admin_mixins.IndexedValuesListFilter).
            models.Index(fields=["kind"], name="notification_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient} ({self.channel})"


class NotificationAttachment(models.Model):
    """A file sent with an email notice (an invoice PDF): the bytes as they were when it was queued."""

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="attachments")
    file_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("content type"), max_length=100)
    content = models.BinaryField(_("content"))

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.file_name
