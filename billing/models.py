from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from plans.models import Plan
from portal.lib.append_only import AppendOnlyModel
from portal.lib.money import vat_included

ORDER_NUMBER_PREFIX = "MC"


def order_number_for(*, order_id: int, year: int) -> str:
    # Derived from the primary key, so two concurrent orders can never draw the same number.
    return f"{ORDER_NUMBER_PREFIX}-{year}-{order_id:06d}"


class Order(models.Model):
    """One purchase of a plan for one card (or for a new eSIM allocated at fulfilment).

    Everything that was sold is snapshotted here: later plan or promotion changes never touch it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for payment")
        PAID = "paid", _("Paid, renewing")
        FULFILLED = "fulfilled", _("Renewed")
        FAILED = "failed", _("Payment failed")
        EXPIRED = "expired", _("Payment not completed in time")
        CANCELLED = "cancelled", _("Cancelled")
        REFUNDED = "refunded", _("Refunded")
        PARTIALLY_REFUNDED = "partially_refunded", _("Partly refunded")
        DISPUTED = "disputed", _("Disputed")

    class Origin(models.TextChoices):
        CUSTOMER = "customer", _("Bought by the customer")
        AUTO_RENEWAL = "auto_renewal", _("Auto-renewal")

    # Filled right after the insert, from the id (see order_number_for).
    number = models.CharField(_("order number"), max_length=20, unique=True, null=True, blank=True)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="orders",
    )
    card = models.ForeignKey(
        "usage.Card",
        verbose_name=_("data card"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
    )
    new_esim = models.BooleanField(_("for a new eSIM"), default=False)
    origin = models.CharField(_("origin"), max_length=20, choices=Origin.choices, default=Origin.CUSTOMER)
    language = models.CharField(_("language"), max_length=10, default="en")

    # Plan as sold.
    plan = models.ForeignKey(
        "plans.Plan", verbose_name=_("plan"), on_delete=models.PROTECT, related_name="orders"
    )
    plan_code = models.CharField(_("plan code"), max_length=40)
    plan_name = models.CharField(_("plan name"), max_length=100)
    # The plan's name in every language it had one in when sold ({"en": ..., "zh-hans": ...}): pages
    # and documents name the plan as sold, in the reader's language (billing.presenters.order_plan_name).
    plan_names = models.JSONField(_("plan name in each language"), default=dict, blank=True, db_default={})
    plan_period = models.CharField(_("plan period"), max_length=10)
    plan_duration_seconds = models.PositiveIntegerField(_("validity (seconds)"))
    plan_data_bytes = models.BigIntegerField(_("data allowance (bytes)"))
    list_price_cents = models.PositiveIntegerField(_("list price (cents, VAT included)"))
    vat_rate_bp = models.PositiveIntegerField(_("VAT rate (basis points)"))

    # Promotion as applied.
    promotion = models.ForeignKey(
        "plans.Promotion",
        verbose_name=_("promotion"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="orders",
    )
    promotion_code = models.CharField(_("promotion code"), max_length=40, blank=True)
    discount_cents = models.PositiveIntegerField(_("discount (cents)"), default=0)
    bonus_bytes = models.BigIntegerField(_("bonus data (bytes)"), default=0)

    wallet_applied_cents = models.PositiveIntegerField(_("wallet credit applied (cents)"), default=0)
    amount_charged_cents = models.PositiveIntegerField(_("amount charged (cents)"))
    currency = models.CharField(_("currency"), max_length=3, default=settings.CURRENCY)
    refunded_amount_cents = models.PositiveIntegerField(_("refunded (cents)"), default=0)

    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    checkout_started_at = models.DateTimeField(_("checkout session created at"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True, db_index=True)
    fulfilled_at = models.DateTimeField(_("renewed at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("failed, expired or cancelled at"), null=True, blank=True)

    class FlagReason(models.TextChoices):
        NONE = "", _("Not flagged")
        PAYMENT_MISMATCH = "payment_mismatch", _("Payment does not match the order")
        STUCK = "stuck", _("Stuck for 24 hours")
        FULFILMENT = "fulfilment", _("Could not be renewed")
        DISPUTE = "dispute", _("Disputed by the customer's bank")
        REFUND = "refund", _("A refund failed or needs a look")
        STRIPE_EVENT = "stripe_event", _("A Stripe event could not be applied")
        NETWORK = "network", _("Top-up not confirmed by the network")

    # Set when support must look at the order (why: flag_reason, last_error); support clears it.
    flagged_at = models.DateTimeField(_("flagged for support at"), null=True, blank=True, db_index=True)
    flag_reason = models.CharField(
        _("flagged because"), max_length=20, choices=FlagReason.choices, default=FlagReason.NONE, blank=True
    )
    last_error = models.TextField(_("last error"), blank=True)

    # "card", "alipay", "wechat_pay", "paypal", "link", ... as Stripe names them; "wallet"; "demo".
    payment_method_type = models.CharField(_("payment method"), max_length=40, blank=True)
    # Ask Stripe to keep the method for auto-renewal (only with the customer's recorded consent).
    save_payment_method = models.BooleanField(_("save the payment method"), default=False)
    stripe_checkout_session_id = models.CharField(
        _("Stripe Checkout Session"), max_length=255, unique=True, null=True, blank=True
    )
    stripe_payment_intent_id = models.CharField(
        _("Stripe PaymentIntent"), max_length=255, unique=True, null=True, blank=True
    )
    stripe_charge_id = models.CharField(
        _("Stripe charge"), max_length=255, unique=True, null=True, blank=True
    )
    # One Stripe customer pays many orders, so this one is indexed, not unique.
    stripe_customer_id = models.CharField(
        _("Stripe customer"), max_length=255, blank=True, default="", db_index=True
    )
    checkout_url = models.URLField(_("checkout address"), max_length=2000, blank=True)
    # Paid through a card-scoped renew link from an alert (billing.renew_links), not from a login.
    renew_link = models.ForeignKey(
        "billing.RenewLink",
        verbose_name=_("renew link"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="orders",
    )

    # For finance: who paid, as they were at the time.
    customer_email = models.EmailField(_("customer email"), blank=True)
    customer_phone = models.CharField(_("customer phone"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    amount_charged_cents=models.F("list_price_cents")
                    - models.F("discount_cents")
                    - models.F("wallet_applied_cents")
                ),
                name="order_amounts_add_up",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    refunded_amount_cents__lte=models.F("amount_charged_cents")
                    + models.F("wallet_applied_cents")
                ),
                name="order_refund_within_paid",
            ),
            models.CheckConstraint(
                condition=models.Q(card__isnull=False) | models.Q(new_esim=True),
                name="order_has_card_or_new_esim",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-created_at"]),
            # Support finds an order by the phone or email it was bought with, even once the
            # account has changed them (case-insensitive email, as the admin searches it).
            models.Index(fields=["customer_phone"], name="order_customer_phone_idx"),
            models.Index(Lower("customer_email"), name="order_customer_email_idx"),
        ]

    def __str__(self) -> str:
        return self.number or f"#{self.pk}"

    @property
    def duration(self) -> timedelta:
        return timedelta(seconds=self.plan_duration_seconds)

    @property
    def total_bytes(self) -> int:
        return self.plan_data_bytes + self.bonus_bytes

    @property
    def paid_cents(self) -> int:
        """What the customer gave for it: the charge plus wallet credit."""
        return self.amount_charged_cents + self.wallet_applied_cents

    @property
    def vat_cents(self) -> int:
        return vat_included(self.paid_cents, self.vat_rate_bp)

    @property
    def plan_period_label(self) -> str:
        return (
            str(Plan.Period(self.plan_period).label)
            if self.plan_period in Plan.Period.values
            else self.plan_period
        )

    @property
    def vat_percent(self) -> str:
        return f"{self.vat_rate_bp / 100:g}"

    @property
    def is_paid(self) -> bool:
        return self.paid_at is not None


class Dispute(models.Model):
    """A dispute (chargeback or inquiry) Stripe told us about, merged from its events in any order."""

    # Stripe's statuses after which nothing changes any more.
    CLOSED_STATUSES = frozenset({"won", "lost", "warning_closed", "prevented"})

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="disputes"
    )
    stripe_dispute_id = models.CharField(_("Stripe dispute"), max_length=255, unique=True)
    stripe_charge_id = models.CharField(_("Stripe charge"), max_length=255, blank=True)
    amount_cents = models.PositiveIntegerField(_("amount (cents)"))
    currency = models.CharField(_("currency"), max_length=3, default=settings.CURRENCY)
    reason = models.CharField(_("reason"), max_length=40, blank=True)
    # Stripe's own status, as last seen: needs_response, under_review, won, lost, warning_closed...
    status = models.CharField(_("Stripe status"), max_length=30)
    is_charge_refundable = models.BooleanField(_("payment can still be refunded"), default=False)
    funds_withdrawn_at = models.DateTimeField(_("funds withdrawn at"), null=True, blank=True)
    funds_reinstated_at = models.DateTimeField(_("funds reinstated at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.stripe_dispute_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def money_with_customer(self) -> bool:
        """The bank gave the customer the disputed amount and Stripe has not given it back to us."""
        if self.status == "lost":
            return True
        return (
            self.funds_withdrawn_at is not None and self.funds_reinstated_at is None and self.status != "won"
        )


class Refund(models.Model):
    """Money going back to the customer. It counts (order amounts, data taken back) only once it
    has succeeded; billing.refunds.refund_status_apply is the one place that moves it there or
    undoes it."""

    class Destination(models.TextChoices):
        ORIGINAL_METHOD = "original_method", _("Original payment method")
        WALLET = "wallet", _("Wallet credit")

    class Source(models.TextChoices):
        STAFF = "staff", _("Support")
        STRIPE = "stripe", _("Refunded in Stripe")
        DISPUTE = "dispute", _("Dispute lost (chargeback)")

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Sent to Stripe, no answer yet")
        PENDING = "pending", _("Pending")
        REQUIRES_ACTION = "requires_action", _("Waiting for the customer")
        # Contexts: an order's "Refunded" and "Cancelled" are feminine in French (la commande).
        SUCCEEDED = "succeeded", pgettext_lazy("refund status", "Refunded")
        FAILED = "failed", _("Failed")
        CANCELED = "canceled", pgettext_lazy("refund status", "Cancelled")

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="refunds"
    )
    amount_cents = models.PositiveIntegerField(_("amount (cents)"))
    currency = models.CharField(_("currency"), max_length=3, default=settings.CURRENCY)
    destination = models.CharField(_("refunded to"), max_length=20, choices=Destination.choices)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.STAFF)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.SUCCEEDED, db_index=True
    )
    failure_reason = models.CharField(_("failure reason"), max_length=100, blank=True)
    stripe_refund_id = models.CharField(
        _("Stripe refund"), max_length=255, unique=True, null=True, blank=True
    )
    # The money a lost dispute took back is a refund too; one per dispute.
    dispute = models.OneToOneField(
        Dispute,
        verbose_name=_("dispute"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="refund",
    )
    # What taking effect took from the card (given back if the refund is undone).
    data_reversed_bytes = models.BigIntegerField(_("data taken back (bytes)"), default=0)
    duration_reversed_seconds = models.BigIntegerField(_("validity taken back (seconds)"), default=0)
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff user"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    succeeded_at = models.DateTimeField(_("succeeded at"), null=True, blank=True)
    failed_at = models.DateTimeField(_("failed or cancelled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["created_at", "id"]
        # The staff list of refunds in this order (without it, a join to every order before the sort).
        indexes = [models.Index(fields=["created_at", "id"], name="refund_created_idx")]
        constraints = [models.CheckConstraint(condition=models.Q(amount_cents__gt=0), name="refund_positive")]

    def __str__(self) -> str:
        return f"{self.order} -{self.amount_cents} ({self.status})"

    @property
    def is_in_flight(self) -> bool:
        """Asked for and not settled: it holds its amount until Stripe says how it ended."""
        return self.status in (self.Status.REQUESTED, self.Status.PENDING, self.Status.REQUIRES_ACTION)


class WebhookEvent(models.Model):
    """A Stripe event, stored by its id before anything else happens (repeats are ignored)."""

    stripe_event_id = models.CharField(_("Stripe event id"), max_length=255, unique=True)
    type = models.CharField(_("type"), max_length=100, db_index=True)
    livemode = models.BooleanField(_("live mode"), default=False)
    payload = models.JSONField(_("payload"))
    received_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)
    # Set once the event is applied (or deliberately ignored: not ours, wrong mode, unknown type).
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True, db_index=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    error = models.TextField(_("last error"), blank=True)
    # An event that cannot be applied yet waits for this time, then runs again (the reconciler).
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True, db_index=True)
    # Support must look: not applicable after a day of retries, a live/test mode mismatch, ...
    flagged_at = models.DateTimeField(_("flagged for support at"), null=True, blank=True, db_index=True)
    # The order the event is about, once known (events waiting for a payment to be recorded).
    order = models.ForeignKey(
        Order,
        verbose_name=_("order"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="stripe_events",
    )

    class Meta:
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_event_id}"


class Wallet(models.Model):
    """Account credit in cents. The balance caches the sum of its entries and never goes negative."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="wallet"
    )
    balance_cents = models.IntegerField(_("balance (cents)"), default=0)
    currency = models.CharField(_("currency"), max_length=3, default=settings.CURRENCY)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("wallet")
        verbose_name_plural = _("wallets")
        constraints = [
            models.CheckConstraint(condition=models.Q(balance_cents__gte=0), name="wallet_never_negative")
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.balance_cents}"


class WalletEntry(models.Model):
    """Append-only: every movement of wallet credit."""

    class Kind(models.TextChoices):
        ORDER_PAYMENT = "order_payment", _("Paid towards an order")
        ORDER_RETURN = "order_return", _("Returned from an unpaid order")
        REFUND = "refund", _("Refund to credit")
        GOODWILL = "goodwill", _("Goodwill credit")
        PROMOTION = "promotion", _("Promotion")
        TOPUP = "topup", _("Top-up")
        ADJUSTMENT = "adjustment", _("Adjustment")

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    amount_cents = models.IntegerField(_("amount (cents)"))
    balance_after_cents = models.IntegerField(_("balance after (cents)"))
    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    refund = models.OneToOneField(
        Refund, verbose_name=_("refund"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff user"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("wallet entry")
        verbose_name_plural = _("wallet entries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount_cents=0), name="wallet_entry_not_zero"),
            models.CheckConstraint(
                condition=models.Q(balance_after_cents__gte=0), name="wallet_entry_after_gte_0"
            ),
            # An order draws on the wallet once, and gives it back at most once.
            models.UniqueConstraint(
                fields=["order"],
                condition=models.Q(kind="order_payment"),
                name="wallet_one_payment_per_order",
            ),
            models.UniqueConstraint(
                fields=["order"], condition=models.Q(kind="order_return"), name="wallet_one_return_per_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount_cents:+d}"


class AutoRenewal(models.Model):
    """A customer's standing consent to renew one card with one plan, and how to pay for it."""

    class AttemptState(models.TextChoices):
        NONE = "", _("Not tried yet")
        SUCCEEDED = "succeeded", _("Renewed")
        PROCESSING = "processing", _("Payment processing")
        DECLINED = "declined", _("Payment declined")
        AUTHENTICATION_REQUIRED = "authentication_required", _("Your bank asked for confirmation")
        NO_PAYMENT_METHOD = "no_payment_method", _("No saved payment method and not enough credit")
        ERROR = "error", _("Could not reach the payment provider")

    card = models.OneToOneField(
        "usage.Card", verbose_name=_("data card"), on_delete=models.PROTECT, related_name="auto_renewal"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="+"
    )
    plan = models.ForeignKey("plans.Plan", verbose_name=_("plan"), on_delete=models.PROTECT, related_name="+")
    enabled = models.BooleanField(_("enabled"), default=False)
    # Opt-in: also renew when, at the card's pace, its data runs out within 24 h (usage.forecast).
    on_runout = models.BooleanField(
        _("also when the data runs out within 24 hours at my pace"), default=False
    )
    consent_text = models.TextField(_("consent text as shown"), blank=True)
    consented_at = models.DateTimeField(_("consented at"), null=True, blank=True)
    stripe_customer_id = models.CharField(_("Stripe customer"), max_length=255, blank=True)
    stripe_payment_method_id = models.CharField(_("saved payment method"), max_length=255, blank=True)
    payment_method_type = models.CharField(_("saved payment method type"), max_length=40, blank=True)
    payment_method_label = models.CharField(_("saved payment method label"), max_length=100, blank=True)
    # The card expiry a trigger fired for: one attempt per validity period, never a retry loop.
    last_triggered_for_expiry = models.DateTimeField(_("last triggered for expiry"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    last_attempt_state = models.CharField(
        _("last attempt"), max_length=30, choices=AttemptState.choices, default=AttemptState.NONE, blank=True
    )
    last_order = models.ForeignKey(
        Order,
        verbose_name=_("last order"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("auto-renewal")
        verbose_name_plural = _("auto-renewals")

    def __str__(self) -> str:
        return f"{self.card} → {self.plan}"


# --- Invoices and credit notes (billing/invoicing.py) --------------------------------------------


class DocumentSequence(models.Model):
    """The last number given in one series (invoices or credit notes) of one calendar year.

    Taken with an UPDATE ... SET last_number = last_number + 1 in the transaction that writes the
    document, so the row stays locked until that transaction ends: numbers are gap-free and never
    given twice (billing.invoicing._next_number).
    """

    kind = models.CharField(_("series"), max_length=20)
    year = models.PositiveSmallIntegerField(_("year"))
    last_number = models.PositiveIntegerField(_("last number given"), default=0)

    class Meta:
        verbose_name = _("document number sequence")
        verbose_name_plural = _("document number sequences")
        constraints = [models.UniqueConstraint(fields=["kind", "year"], name="document_sequence_per_year")]

    def __str__(self) -> str:
        return f"{self.kind} {self.year}: {self.last_number}"


class Invoice(AppendOnlyModel):
    """An invoice or a credit note: written once, never changed or deleted (PostgreSQL refuses too).

    Everything printed is a copy taken when it was issued (seller, buyer, what was sold, amounts),
    so a later change to the settings, the plan or the customer's account never alters it.
    Credit notes carry negative amounts and point at the invoice they correct.
    """

    class Kind(models.TextChoices):
        INVOICE = "invoice", _("Invoice")
        CREDIT_NOTE = "credit_note", _("Credit note")

    class VatIdCheck(models.TextChoices):
        NONE = "", _("No VAT number given")
        FORMAT = "format", _("Format and check digits verified (not checked with VIES)")
        UNCHECKED = "unchecked", _("No format check exists for this country")

    class Reason(models.TextChoices):
        SALE = "sale", _("Sale")
        REFUND = "refund", _("Refund")
        WITHDRAWAL = "withdrawal", _("Withdrawal from the purchase")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    number = models.CharField(_("number"), max_length=20, unique=True)
    year = models.PositiveSmallIntegerField(_("year"))
    sequence = models.PositiveIntegerField(_("number in the year"))
    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="invoices"
    )
    corrects = models.ForeignKey(
        "self",
        verbose_name=_("corrects invoice"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_notes",
    )
    refund = models.OneToOneField(
        Refund,
        verbose_name=_("refund"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_note",
    )
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices, default=Reason.SALE)
    issued_at = models.DateTimeField(_("issued at"), db_index=True)
    language = models.CharField(_("language"), max_length=10)

    seller_name = models.CharField(_("seller name"), max_length=200)
    seller_address = models.TextField(_("seller address"))
    seller_vat_id = models.CharField(_("seller VAT number"), max_length=40)
    seller_registration = models.CharField(_("seller registration"), max_length=200, blank=True)

    buyer_name = models.CharField(_("buyer name"), max_length=200)
    buyer_address = models.TextField(_("buyer address"))
    buyer_country = models.CharField(_("buyer country"), max_length=2)
    buyer_vat_id = models.CharField(_("buyer VAT number"), max_length=40, blank=True)
    buyer_vat_id_check = models.CharField(
        _("buyer VAT number check"), max_length=20, choices=VatIdCheck.choices, blank=True
    )
    buyer_email = models.EmailField(_("buyer email"), blank=True)

    description = models.CharField(_("description"), max_length=300)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    supplied_at = models.DateTimeField(_("date of supply"))
    payment_method = models.CharField(_("payment method"), max_length=40, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)

    currency = models.CharField(_("currency"), max_length=3)
    vat_rate_bp = models.PositiveIntegerField(_("VAT rate (basis points)"))
    # Gross is VAT included, as the price was shown; negative on a credit note.
    list_price_cents = models.IntegerField(_("list price (cents, VAT included)"))
    discount_cents = models.IntegerField(_("discount (cents, VAT included)"), default=0)
    gross_cents = models.IntegerField(_("total (cents, VAT included)"))
    vat_cents = models.IntegerField(_("VAT (cents)"))
    net_cents = models.IntegerField(_("taxable amount (cents)"))

    class Meta:
        verbose_name = _("invoice or credit note")
        verbose_name_plural = _("invoices and credit notes")
        ordering = ["-issued_at", "-id"]
        # Nobody may add, change or delete one through the admin; support may send it again.
        default_permissions = ("view",)
        permissions = [("send_invoice", _("Can email an invoice or credit note to the customer"))]
        constraints = [
            models.UniqueConstraint(fields=["kind", "year", "sequence"], name="invoice_number_once"),
            # An order is invoiced once; credit notes correct that invoice.
            models.UniqueConstraint(
                fields=["order"], condition=models.Q(kind="invoice"), name="invoice_one_per_order"
            ),
            models.CheckConstraint(
                condition=models.Q(gross_cents=models.F("net_cents") + models.F("vat_cents")),
                name="invoice_amounts_add_up",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(kind="invoice", gross_cents__gte=0, corrects__isnull=True)
                    | models.Q(kind="credit_note", gross_cents__lt=0, corrects__isnull=False)
                ),
                name="invoice_or_credit_note_signs",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_credit_note(self) -> bool:
        return self.kind == self.Kind.CREDIT_NOTE

    @property
    def vat_percent(self) -> str:
        return f"{self.vat_rate_bp / 100:g}"

    @property
    def file_name(self) -> str:
        return f"{self.number}.pdf"


# --- The EU withdrawal function (billing/withdrawal.py) ------------------------------------------


class StartNowRequest(models.Model):
    """The customer's express request at checkout that the plan start before the withdrawal period
    ends, with the wording they agreed to, as shown (Directive 2011/83/EU Art. 7(3) and 14(3))."""

    order = models.OneToOneField(
        Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="start_now_request"
    )
    language = models.CharField(_("language"), max_length=10)
    text = models.TextField(_("wording agreed to"))
    requested_at = models.DateTimeField(_("asked at"))

    class Meta:
        verbose_name = _("request to start at once")
        verbose_name_plural = _("requests to start at once")

    def __str__(self) -> str:
        return f"{self.order} {self.requested_at:%Y-%m-%d %H:%M}"


class Withdrawal(models.Model):
    """A customer withdrew from a purchase (Art. 11a): when, what was still unused, what came back."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")

    order = models.OneToOneField(
        Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="withdrawal"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("received at"), db_index=True)
    # Shares in basis points (10000 = all of it), as measured when the customer confirmed.
    data_unused_bp = models.PositiveIntegerField(_("data not used (basis points)"))
    time_unused_bp = models.PositiveIntegerField(_("validity not used (basis points)"))
    refund_cents = models.PositiveIntegerField(_("refund (cents)"))
    to_method_cents = models.PositiveIntegerField(_("to the payment method (cents)"), default=0)
    to_wallet_cents = models.PositiveIntegerField(_("to account credit (cents)"), default=0)
    method_refund = models.OneToOneField(
        Refund, verbose_name=_("refund to the payment method"), on_delete=models.PROTECT,
        null=True, blank=True, related_name="+",
    )  # fmt: skip
    wallet_refund = models.OneToOneField(
        Refund, verbose_name=_("refund to account credit"), on_delete=models.PROTECT,
        null=True, blank=True, related_name="+",
    )  # fmt: skip
    refund_error = models.TextField(_("refund problem"), blank=True)
    # Channels the acknowledgement went out on ("email", "sms" or "email,sms").
    acknowledged_on = models.CharField(_("acknowledged by"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("withdrawal")
        verbose_name_plural = _("withdrawals")
        ordering = ["-requested_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(refund_cents=models.F("to_method_cents") + models.F("to_wallet_cents")),
                name="withdrawal_refund_adds_up",
            )
        ]

    def __str__(self) -> str:
        return f"{self.order} {self.requested_at:%Y-%m-%d %H:%M}"

    @property
    def acknowledged_channels_label(self) -> str:
        channels = [channel for channel in self.acknowledged_on.split(",") if channel in self.Channel.values]
        return ", ".join(str(self.Channel(channel).label) for channel in channels)


class RenewLink(models.Model):
    """A link in an alert or reminder that opens one card's renew page without a login.

    Only the SHA-256 of its token is stored; the token itself exists in the message sent. It dies at
    `expires_at`, after `max_payments` orders, when revoked, when the card is no longer its owner's,
    and when the owner logs out everywhere (billing.renew_links.renew_link_refusal).
    """

    card = models.ForeignKey(
        "usage.Card", verbose_name=_("data card"), on_delete=models.PROTECT, related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("card owner"), on_delete=models.CASCADE, related_name="+"
    )
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True)
    # The notice kind that carried it (card_data_90, card_expiry_24h, ...).
    purpose = models.CharField(_("sent with"), max_length=40)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    max_payments = models.PositiveSmallIntegerField(_("payments allowed"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoke_reason = models.CharField(_("why revoked"), max_length=100, blank=True)
    opened_count = models.PositiveIntegerField(_("times opened"), default=0)
    last_opened_at = models.DateTimeField(_("last opened at"), null=True, blank=True)

    class Meta:
        verbose_name = _("renew link")
        verbose_name_plural = _("renew links")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["card", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.purpose} → {self.card_id}"


class RevenueDay(models.Model):
    """The revenue report's figures per Monaco day of payment, plan, payment method and currency.

    Kept by PostgreSQL itself: a trigger on the orders table adds each paid order's figures here
    and takes them out again when the order changes (a refund, a dispute, a correction), whoever
    makes the change. The revenue page then reads a few hundred rows per year instead of summing
    every order. On SQLite (the embedded default) there is no trigger and the report sums orders.
    """

    day = models.DateField(_("day (Monaco)"))
    plan_name = models.CharField(_("plan"), max_length=100)
    payment_method_type = models.CharField(_("payment method"), max_length=40)
    currency = models.CharField(_("currency"), max_length=3)
    count = models.BigIntegerField(_("orders"), default=0)
    gross_cents = models.BigIntegerField(_("gross (cents)"), default=0)
    vat_cents = models.BigIntegerField(_("VAT (cents)"), default=0)
    refunded_cents = models.BigIntegerField(_("refunded (cents)"), default=0)

    class Meta:
        verbose_name = _("revenue day")
        verbose_name_plural = _("revenue days")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "plan_name", "payment_method_type", "currency"], name="revenue_day_one_row"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d} {self.plan_name} {self.payment_method_type} {self.currency}"
