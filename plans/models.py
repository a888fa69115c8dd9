from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _


class Plan(models.Model):  # type: ignore[django-manager-missing]  # modeltranslation patches it
    class Period(models.TextChoices):
        DAY = "day", _("Day")
        WEEK = "week", _("Week")
        MONTH = "month", _("Month")

    DURATIONS = {
        Period.DAY: timedelta(hours=24),
        Period.WEEK: timedelta(days=7),
        Period.MONTH: timedelta(days=30),
    }

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)  # translated (plans/translation.py)
    description = models.TextField(_("description"), blank=True)  # translated
    period = models.CharField(_("period"), max_length=10, choices=Period.choices)
    data_bytes = models.BigIntegerField(_("data allowance (bytes)"), validators=[MinValueValidator(1)])
    price_cents = models.PositiveIntegerField(_("price (cents, VAT included)"))
    currency = models.CharField(_("currency"), max_length=3, default=settings.CURRENCY)
    # Basis points: 2000 = 20.00 % (French VAT, which Monaco applies).
    vat_rate_bp = models.PositiveIntegerField(
        _("VAT rate (basis points)"), default=2000, validators=[MaxValueValidator(10000)]
    )
    covers_monaco = models.BooleanField(_("Monaco"), default=True)
    covers_french_riviera = models.BooleanField(_("French Riviera"), default=True)
    covers_ligurian_coast = models.BooleanField(_("Ligurian coast"), default=True)
    is_active = models.BooleanField(_("on sale"), default=True)
    display_order = models.PositiveIntegerField(_("display order"), default=0)

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["display_order", "price_cents"]

    def __str__(self) -> str:
        return self.name

    @property
    def duration(self) -> timedelta:
        return self.DURATIONS[self.Period(self.period)]


class Promotion(models.Model):  # type: ignore[django-manager-missing]  # modeltranslation patches it
    code = models.CharField(_("code"), max_length=40, unique=True)
    description = models.CharField(_("description"), max_length=200, blank=True)  # translated
    discount_percent = models.PositiveSmallIntegerField(
        _("discount (%)"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    discount_cents = models.PositiveIntegerField(_("discount (cents)"), null=True, blank=True)
    bonus_bytes = models.BigIntegerField(
        _("bonus data (bytes)"), default=0, validators=[MinValueValidator(0)]
    )
    valid_from = models.DateTimeField(_("valid from"))
    valid_until = models.DateTimeField(_("valid until"))
    max_redemptions = models.PositiveIntegerField(_("total redemptions allowed"), null=True, blank=True)
    max_per_customer = models.PositiveIntegerField(_("redemptions per customer"), default=1)
    plans = models.ManyToManyField(Plan, blank=True, verbose_name=_("only for these plans"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("promotion")
        verbose_name_plural = _("promotions")
        constraints = [
            models.UniqueConstraint(Upper("code"), name="promotion_code_ci_unique"),
            models.CheckConstraint(
                condition=~(
                    models.Q(discount_percent__isnull=False) & models.Q(discount_cents__isnull=False)
                ),
                name="promotion_one_discount_kind",
            ),
            models.CheckConstraint(
                condition=models.Q(valid_until__gt=models.F("valid_from")), name="promotion_window_ordered"
            ),
        ]

    def __str__(self) -> str:
        return self.code
