from django import forms
from django.utils.translation import gettext_lazy as _

from usage.iccid import iccid_is_valid, iccid_normalise


class CardClaimForm(forms.Form):
    iccid = forms.CharField(
        label=_("ICCID"),
        max_length=40,
        help_text=_("The 18 to 22 digit number printed on the card or its holder, usually starting with 89."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"}),
    )
    claim_code = forms.CharField(
        label=_("Claim code"),
        max_length=40,
        help_text=_("Printed next to the ICCID."),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )

    def clean_iccid(self) -> str:
        iccid = iccid_normalise(self.cleaned_data["iccid"])
        # A typo is caught here without spending one of the rate-limited attempts.
        if not iccid_is_valid(iccid):
            raise forms.ValidationError(
                _("This is not a valid ICCID: check that you typed all 18 to 22 digits."), code="invalid"
            )
        return iccid


class InventoryImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("UTF-8 CSV with the columns iccid, activation_code, claim_code."),
    )
