from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from audit.admin_mixins import ReasonForm
from billing.vat_ids import VatIdInvalid, vat_id_check
from plans.models import Plan
from portal.lib.pdf import clean_text, unprintable_characters


class CheckoutForm(forms.Form):
    """What the customer chooses. Prices never come from here: the server quotes them from the plan."""

    plan = forms.SlugField(widget=forms.HiddenInput)
    card = forms.CharField(required=False, widget=forms.HiddenInput)
    promo_code = forms.CharField(
        label=_("Promo code"),
        required=False,
        max_length=40,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )
    apply_wallet = forms.BooleanField(label=_("Use my account credit"), required=False)
    # Required to pay (the view checks it on POST only: "Update the price" submits the form too).
    start_now = forms.BooleanField(
        label=_(
            "I ask for my plan to start now, as described above, and accept what it means if I withdraw."
        ),
        required=False,
    )


class AutoRenewalForm(forms.Form):
    enabled = forms.BooleanField(label=_("Renew this card automatically"), required=False)
    on_runout = forms.BooleanField(
        label=_("Also renew when, at my pace, the data would run out within 24 hours"),
        help_text=_(
            "The forecast on your dashboard decides: it follows how fast you used data the last 7 days."
        ),
        required=False,
    )
    plan: forms.ModelChoiceField = forms.ModelChoiceField(
        label=_("Plan"),
        queryset=Plan.objects.filter(is_active=True),
        to_field_name="code",
        empty_label=None,
    )
    consent = forms.BooleanField(label=_("I agree to the terms above"), required=False)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("enabled") and not cleaned.get("consent"):
            self.add_error("consent", _("Tick the box to agree, or leave auto-renew off."))
        return cleaned


class DemoPaymentForm(forms.Form):
    outcome = forms.ChoiceField(choices=[("pay", "pay"), ("decline", "decline")])


class GoodwillForm(ReasonForm):
    """Staff add credit to a customer's wallet (the admin's goodwill action)."""

    amount = forms.DecimalField(
        label=_("Credit to add (€)"), min_value=Decimal("0.01"), max_value=Decimal("500"), decimal_places=2
    )
    field_order = ["amount", "reason"]


class InvoiceRequestForm(forms.Form):
    """Who the invoice is made out to. The VAT number is format-checked here (billing.vat_ids)."""

    name = forms.CharField(
        label=_("Company or name"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    address = forms.CharField(
        label=_("Address"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "street-address"}),
        help_text=_("Street, postcode and city, as they should be printed."),
    )
    country = forms.ChoiceField(label=_("Country"), widget=forms.Select(attrs={"autocomplete": "country"}))
    vat_id = forms.CharField(
        label=_("VAT number (optional)"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "spellcheck": "false"}),
        help_text=_(
            "We check its format and check digits for the country above. We do not look it up in "
            "the EU's VIES register."
        ),
    )
    confirm = forms.BooleanField(
        label=_("These details are correct. An invoice cannot be changed once issued."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["country"].choices = [("", "—"), *countries]

    def _printable(self, field: str) -> str:
        value = clean_text(self.cleaned_data.get(field, ""))
        missing = unprintable_characters(value)
        if missing:
            raise forms.ValidationError(
                _("These characters cannot be printed on an invoice: %(characters)s")
                % {"characters": " ".join(sorted(missing))}
            )
        return value

    def clean_name(self) -> str:
        value = self._printable("name")
        if not value:
            raise forms.ValidationError(_("Enter the name the invoice is made out to."))
        return value

    def clean_address(self) -> str:
        value = self._printable("address")
        lines = [line.strip() for line in value.splitlines() if line.strip()]
        if not lines:
            raise forms.ValidationError(_("Enter the address."))
        if len(lines) > 6:
            raise forms.ValidationError(_("Use at most 6 lines."))
        return "\n".join(lines)

    def clean(self):
        cleaned = super().clean()
        country = cleaned.get("country")
        if country and "vat_id" in cleaned:
            try:
                vat = vat_id_check(country=country, raw=cleaned["vat_id"])
            except VatIdInvalid as error:
                self.add_error("vat_id", str(error))
            else:
                cleaned["vat_id"], cleaned["vat_id_check"] = vat.value, vat.check
        return cleaned
