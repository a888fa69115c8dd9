from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class StaffPermission(models.Model):
    """No table: holds the permissions of the staff actions and finance pages ("support.<codename>").

    The desk grants them to its groups; each action lives in the app that owns its object.
    """

    class Meta:
        managed = False
        verbose_name = _("staff permission")
        verbose_name_plural = _("staff permissions")
        default_permissions = ()
        permissions = [
            ("card_adjust", _("Can adjust a card's data or expiry")),
            ("card_suspend", _("Can suspend or resume a card")),
            ("order_refund", _("Can refund an order")),
            ("order_resend_confirmation", _("Can resend an order confirmation")),
            ("order_retry_fulfilment", _("Can retry a stuck fulfilment")),
            ("wallet_credit", _("Can add goodwill credit to a wallet")),
            ("webhook_rerun", _("Can re-run a stored webhook event")),
            ("finance_export", _("Can export order records")),
            ("finance_revenue", _("Can see revenue reports")),
        ]

    def __str__(self) -> str:
        return str(self._meta.verbose_name)


class Ticket(models.Model):
    """A traveller's request to support, with its thread of messages."""

    class Topic(models.TextChoices):
        RENEWAL = "renewal", _("A renewal or top-up")
        PAYMENT = "payment", _("A payment or refund")
        CARD = "card", _("My card or eSIM does not work")
        USAGE = "usage", _("Data usage")
        ACCOUNT = "account", _("My account")
        OTHER = "other", _("Something else")

    class Status(models.TextChoices):
        OPEN = "open", _("Waiting for support")
        ANSWERED = "answered", _("Answered")
        CLOSED = "closed", _("Closed")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="tickets"
    )
    topic = models.CharField(_("topic"), max_length=20, choices=Topic.choices)
    card = models.ForeignKey(
        "usage.Card",
        verbose_name=_("card"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
    )
    order = models.ForeignKey(
        "billing.Order",
        verbose_name=_("order"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("last message at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("support request")
        verbose_name_plural = _("support requests")
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_topic_display()}"


class TicketMessage(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    from_support = models.BooleanField(_("from support"), default=False)
    body = models.TextField(_("message"), max_length=5000)
    created_at = models.DateTimeField(_("sent at"), default=timezone.now)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.body[:40]}"


class ExportJob(models.Model):
    """A finance export too large to stream, written by a worker; only its requester may download it."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Ready")
        FAILED = "failed", _("Failed")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    params = models.JSONField(_("filters"))
    file_format = models.CharField(_("format"), max_length=4)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    rows_total = models.PositiveIntegerField(_("rows expected"), default=0)
    rows_done = models.PositiveIntegerField(_("rows written"), default=0)
    file_name = models.CharField(_("file"), max_length=200, blank=True)
    error = models.TextField(_("error"), blank=True)
    # A worker that dies mid-export leaves the job running: its progress stops moving, and after
    # a while another worker starts it again (support.finance.export_jobs_resume).
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    progress_at = models.DateTimeField(_("last progress"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("download available until"), db_index=True)

    class Meta:
        verbose_name = _("export job")
        verbose_name_plural = _("export jobs")
        ordering = ["-created_at"]
        default_permissions = ()

    def __str__(self) -> str:
        return f"export #{self.pk} ({self.status})"
