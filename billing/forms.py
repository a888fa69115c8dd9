from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from audit.admin_mixins import ReasonForm
from plans.models import Plan


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


class AutoRenewalForm(forms.Form):
    enabled = forms.BooleanField(label=_("Renew this card automatically"), required=False)
    plan = forms.ModelChoiceField(
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
