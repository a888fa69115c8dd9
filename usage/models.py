from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.lib.display import format_data

EXPIRING_SOON = timedelta(hours=72)


class Card(models.Model):
    """A SIM or eSIM. `data_remaining`, `expires_at` and the period fields cache the ledger's fold."""

    class Kind(models.TextChoices):
        ESIM = "esim", _("eSIM")
        SIM = "sim", _("SIM")

    class State(models.TextChoices):
        NEVER_ACTIVATED = "never_activated", _("Not activated yet")
        ACTIVE = "active", _("Active")
        EXPIRING_SOON = "expiring_soon", _("Expiring soon")
        EXPIRED = "expired", _("Expired")
        SUSPENDED = "suspended", _("Suspended")

    iccid = models.CharField(_("ICCID"), max_length=22, unique=True)
    kind = models.CharField(_("kind"), max_length=4, choices=Kind.choices, default=Kind.ESIM)
    activation_code = models.CharField(_("eSIM activation code"), max_length=255, blank=True)
    # HMAC of the claim code printed with the card; the code itself is never stored.
    claim_code_hash = models.CharField(_("claim code hash"), max_length=64, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="cards",
    )
    label = models.CharField(_("label"), max_length=60, blank=True)
    suspended_at = models.DateTimeField(_("suspended at"), null=True, blank=True)
    data_remaining = models.BigIntegerField(_("data remaining (bytes)"), default=0)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True, db_index=True)
    # The current validity period: when it started and how much data it granted in all
    # (renewals before expiry stack onto it). Used for "data used this period" and alerts.
    period_started_at = models.DateTimeField(_("period started at"), null=True, blank=True)
    period_allowance = models.BigIntegerField(_("data granted this period (bytes)"), default=0)
    overage_bytes = models.BigIntegerField(_("usage beyond the allowance (bytes)"), default=0)
    usage_updated_at = models.DateTimeField(_("usage last updated"), null=True, blank=True)
    allocated_at = models.DateTimeField(_("allocated at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("data card")
        verbose_name_plural = _("data cards")
        ordering = ["created_at", "id"]
        # The staff list of cards in this order. Labels are searched by part through a trigram index
        # (migration 0007, PostgreSQL).
        indexes = [models.Index(fields=["created_at", "id"], name="card_created_idx")]

    def __str__(self) -> str:
        return self.label or self.iccid

    def state_at(self, now: datetime) -> str:
        """Derived from time, so it is right before the expiry sweep has run."""
        if self.suspended_at:
            return self.State.SUSPENDED
        if self.expires_at is None:
            return self.State.NEVER_ACTIVATED
        if now >= self.expires_at:
            return self.State.EXPIRED
        if self.expires_at - now <= EXPIRING_SOON:
            return self.State.EXPIRING_SOON
        return self.State.ACTIVE

    def is_active_at(self, now: datetime) -> bool:
        return self.expires_at is not None and now < self.expires_at and not self.suspended_at

    def data_remaining_at(self, now: datetime) -> int:
        """Unused data is forfeited at expiry, whether or not the sweep has written it down yet."""
        if self.expires_at is None or now >= self.expires_at:
            return 0
        return self.data_remaining


class LedgerEntry(models.Model):
    """Append-only: every change to a card's data or validity. Never updated or deleted."""

    class Kind(models.TextChoices):
        TOPUP = "topup", _("Top-up")
        USAGE = "usage", _("Usage")
        EXPIRY_FORFEIT = "expiry_forfeit", _("Expiry (unused data forfeited)")
        REFUND_REVERSAL = "refund_reversal", _("Refund reversal")
        ADJUSTMENT = "adjustment", _("Adjustment")
        SUSPENSION = "suspension", _("Suspension")
        RESUMPTION = "resumption", _("Resumption")

    # Indexed by ("card", "created_at") below; a second index on card alone would slow usage ingestion.
    card = models.ForeignKey(Card, on_delete=models.PROTECT, related_name="ledger_entries", db_index=False)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    data_delta = models.BigIntegerField(_("data change (bytes)"), default=0)
    data_after = models.BigIntegerField(_("data remaining after (bytes)"))
    expires_before = models.DateTimeField(_("expiry before"), null=True, blank=True)
    expires_after = models.DateTimeField(_("expiry after"), null=True, blank=True)
    # What caused it. Orders live in billing, which depends on this app, so the order is held by id.
    # A `usage` entry is caused by the usage records it applied: they point at it (`usage_records`).
    order_id = models.BigIntegerField(_("order id"), null=True, blank=True)
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["created_at", "id"]
        constraints = [
            # A paid order tops a card up exactly once, whatever races above this.
            models.UniqueConstraint(
                fields=["order_id"], condition=models.Q(kind="topup"), name="ledger_one_topup_per_order"
            ),
            # The sweep forfeits a validity period once: keyed by the expiry it closes.
            models.UniqueConstraint(
                fields=["card", "expires_before"],
                condition=models.Q(kind="expiry_forfeit"),
                name="ledger_one_forfeit_per_period",
            ),
        ]
        # Usage writes many entries a day with no order or staff member: partial indexes keep
        # those rows out of indexes they never need.
        indexes = [
            models.Index(fields=["card", "created_at"]),
            models.Index(
                fields=["order_id"], condition=models.Q(order_id__isnull=False), name="ledger_order_idx"
            ),
            models.Index(
                fields=["staff_user"],
                condition=models.Q(staff_user__isnull=False),
                name="ledger_staff_user_idx",
            ),
        ]

    def __str__(self) -> str:
        # "Usage -7 MB, entry 12": read in the admin wherever an entry is referred to.
        return gettext("%(kind)s %(data)s, entry %(id)s") % {
            "kind": self.get_kind_display(),
            "data": format_data(self.data_delta, signed=True),
            "id": self.pk,
        }


class UsageRecord(models.Model):
    """A carrier usage record, applied once per record_id however often it is delivered."""

    # Unique through Meta.constraints: one plain index (unique=True would add a LIKE index too).
    record_id = models.CharField(_("record id"), max_length=100)
    # No database constraint (bench/README.md, "Usage ingest"): checking each record's card at
    # commit cost about 12 % of ingestion. Django still refuses to delete a card that has records
    # (PROTECT is applied by the ORM), the card's ledger entries keep their constraint, and
    # `check_ledgers` reports every record whose card does not exist (usage.ledger.usage_links_check).
    card = models.ForeignKey(
        Card, on_delete=models.PROTECT, related_name="usage_records", db_index=False, db_constraint=False
    )
    # The `usage` ledger entry that applied this record: one per card and delivered batch, whatever
    # the number of records. Not indexed (a million records a day): an entry's records are found
    # through the ("card", "start") index, filtered on this column. No database constraint either:
    # the entry and its records are written by one statement (usage.feeds), ledger entries are never
    # deleted, and the per-row check at commit cost 11 % of ingestion; `check_ledgers` verifies
    # every link instead (usage.ledger.usage_links_check).
    ledger_entry = models.ForeignKey(
        LedgerEntry,
        on_delete=models.PROTECT,
        related_name="usage_records",
        db_index=False,
        db_constraint=False,
        verbose_name=_("ledger entry"),
    )
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    bytes = models.BigIntegerField(_("bytes"))
    # Part of `bytes` that found no remaining data to draw from.
    overage_bytes = models.BigIntegerField(_("overage (bytes)"), default=0)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)

    class Meta:
        verbose_name = _("usage record")
        verbose_name_plural = _("usage records")
        constraints = [models.UniqueConstraint(fields=["record_id"], name="usage_record_id_unique")]
        indexes = [models.Index(fields=["card", "start"])]

    def __str__(self) -> str:
        return self.record_id


class ProvisioningEvent(models.Model):
    """What the network must enforce, sent to the carrier for each ledger entry that changes it."""

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENT = "sent", _("Acknowledged by the carrier")
        RETRYING = "retrying", _("Retrying")
        FAILED = "failed", _("Gave up")
        NOT_SENT = "not_sent", _("Not sent (no carrier URL configured)")

    ledger_entry = models.OneToOneField(
        LedgerEntry, on_delete=models.PROTECT, related_name="provisioning_event"
    )
    card = models.ForeignKey(Card, on_delete=models.PROTECT, related_name="provisioning_events")
    payload = models.JSONField(_("payload"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # The first POST to the carrier ("sent to the network"); `sent_at` is its acknowledgement.
    first_attempted_at = models.DateTimeField(_("first sent at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)

    class Meta:
        verbose_name = _("provisioning event")
        verbose_name_plural = _("provisioning events")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.ledger_entry_id} → {self.get_state_display()}"
