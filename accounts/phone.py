"""Phone numbers as travellers type them, stored in E.164.

"+377 6 12 34 56 78", "0033 6 12 34 56 78", or "06 12 34 56 78" with a country picked (default
settings.PHONE_DEFAULT_REGION) all become "+377612345678"-style strings.
"""

from functools import lru_cache

import phonenumbers
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from phonenumbers import PhoneNumberFormat

from notices.sms import sms_number_allowed, sms_number_refusal

INVALID_MESSAGE = _(
    "This is not a valid phone number. Pick the country and type the number as you would dial it, "
    "for example 06 12 34 56 78, or start with + and the country code, for example +377 6 12 34 56 78."
)
NOT_MOBILE_MESSAGE = _("This number cannot receive text messages. Please give a mobile phone number.")
COUNTRY_REFUSED_MESSAGE = _(
    "We cannot send text messages to numbers in this country. Please use your email address, or another "
    "mobile number."
)

# Regions that share a calling code with a bigger neighbour, for which phonenumbers has no name.
_MISSING_NAMES = {
    "AC": _("Ascension Island"),
    "BL": _("Saint Barthélemy"),
    "EH": _("Western Sahara"),
    "MF": _("Saint Martin"),
    "TA": _("Tristan da Cunha"),
    "XK": _("Kosovo"),
}
# Shown first in the country list: where our travellers' numbers mostly come from.
_FIRST_REGIONS = ("MC", "FR", "IT")


def default_region() -> str:
    return settings.PHONE_DEFAULT_REGION


def phone_parse(value: str, region: str | None = None) -> str:
    """Return the E.164 form of `value`, or raise a ValidationError a traveller can act on."""
    text = (value or "").strip()
    if text.startswith("00"):
        # International prefix as dialled from most of Europe and China.
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, (region or default_region()).upper())
    except phonenumbers.NumberParseException as error:
        raise ValidationError(INVALID_MESSAGE, code="invalid_phone") from error
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(INVALID_MESSAGE, code="invalid_phone")
    refusal = _sms_refusal(number)
    if refusal is not None:
        raise refusal
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _sms_refusal(number: phonenumbers.PhoneNumber) -> ValidationError | None:
    reason = sms_number_refusal(number)
    if reason == "country_refused":
        return ValidationError(COUNTRY_REFUSED_MESSAGE, code="country_refused")
    if reason is not None:
        return ValidationError(NOT_MOBILE_MESSAGE, code="not_mobile")
    return None


# The same policy as at sending (notices.sms): a stored number may fall outside it later.
phone_sms_allowed = sms_number_allowed


def phone_display(value: str | None) -> str:
    """+377612345678 → "+377 6 12 34 56 78", for showing a stored number back to a person.

    Anything else (an email address, a number that does not parse) comes back as it was, so a
    template may pass either kind of recipient through the `phone` filter."""
    if not value:
        return ""
    if not value.startswith("+"):
        return value
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return value
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def phone_region(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(value, None))
    except phonenumbers.NumberParseException:
        return None


@lru_cache(maxsize=16)
def _country_choices(language: str) -> tuple[tuple[str, str], ...]:
    # The geocoder loads ~95 MB of place names: only for the form that lists countries, not at
    # import time in every process (workers, exports, management commands).
    from phonenumbers import geocoder

    geocoder_language = {"zh-hans": "zh", "zh-hant": "zh"}.get(language, language.split("-")[0])
    choices = []
    for region in phonenumbers.SUPPORTED_REGIONS:
        example = phonenumbers.example_number(region)
        name = geocoder.country_name_for_number(example, geocoder_language) if example else ""
        if region in _MISSING_NAMES:
            name = str(_MISSING_NAMES[region])
        code = phonenumbers.country_code_for_region(region)
        choices.append((region, f"{name or region} (+{code})"))
    first = [choice for region in _FIRST_REGIONS for choice in choices if choice[0] == region]
    rest = sorted((c for c in choices if c[0] not in _FIRST_REGIONS), key=lambda choice: choice[1].casefold())
    return tuple(first + rest)


def country_choices() -> list[tuple[str, str]]:
    """Every region phonenumbers knows, named in the active language, with its calling code."""
    return list(_country_choices(get_language() or settings.LANGUAGE_CODE))


class PhoneWidget(forms.MultiWidget):
    template_name = "accounts/widgets/phone.html"

    def __init__(self, attrs=None):
        widgets = {
            "country": forms.Select(
                choices=country_choices, attrs={"aria-label": _("Country"), "autocomplete": "country"}
            ),
            "number": forms.TextInput(
                attrs={
                    "type": "tel",
                    "autocomplete": "tel",
                    "inputmode": "tel",
                    "aria-label": _("Phone number"),
                    "placeholder": _("e.g. 06 12 34 56 78"),
                }
            ),
        }
        super().__init__(widgets, attrs)

    def decompress(self, value):
        if not value:
            return [default_region(), ""]
        return [phone_region(value) or default_region(), phone_display(value)]

    def value_from_datadict(self, data, files, name):
        # A plain "phone" value (allauth re-posts the stored number when resending a code) is one string.
        if name in data and f"{name}_number" not in data:
            return data.get(name)
        return super().value_from_datadict(data, files, name)

    def value_omitted_from_data(self, data, files, name):
        return name not in data and super().value_omitted_from_data(data, files, name)


class PhoneNumberField(forms.MultiValueField):
    """A country select and a number box, cleaned to E.164.

    Also accepts a single string (allauth calls `clean("+377…")` to tell phones from emails), which is
    read with the default country.
    """

    widget = PhoneWidget

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Mobile phone"))
        kwargs.pop("max_length", None)
        fields = (
            forms.ChoiceField(choices=country_choices, required=False),
            forms.CharField(required=False, max_length=40),
        )
        super().__init__(fields=fields, require_all_fields=False, **kwargs)

    def clean(self, value):
        if isinstance(value, str):
            value = [default_region(), value]
        return super().clean(value)

    def compress(self, data_list):
        if not data_list:
            return ""
        region, number = data_list
        if not (number or "").strip():
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return ""
        return phone_parse(number, region or default_region())
