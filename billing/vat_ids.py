"""VAT numbers typed by customers who ask for an invoice, checked with python-stdnum per country.

Only the format and the check digits are verified, offline. Whether the number is registered
(VIES, the EU's online register) is not checked: that needs a network call to the Commission's
service, which this portal does not make. Invoices and the form say so.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _
from stdnum import exceptions as stdnum_errors
from stdnum.eu import vat as eu_vat
from stdnum.util import get_cc_module

from billing.models import Invoice

# EU member states by country code (python-stdnum also lists XI, Northern Ireland's VAT prefix).
EU_COUNTRIES = {code.upper() for code in eu_vat.MEMBER_STATES} - {"XI"}
# Greek VAT numbers start with EL, not GR.
COUNTRY_TO_VAT_PREFIX = {"GR": "EL"}
MAX_LENGTH = 30


class VatIdInvalid(ValueError):
    """The message says what is wrong, in the active language, for the form."""


@dataclass(frozen=True)
class VatId:
    value: str  # as printed, e.g. "FR40303265045"
    check: str  # Invoice.VatIdCheck


def _vat_prefix(country: str) -> str:
    return COUNTRY_TO_VAT_PREFIX.get(country, country)


def vat_id_check(*, country: str, raw: str) -> VatId:
    """Normalise a VAT number for `country` (ISO 3166 alpha-2) or raise VatIdInvalid.

    Monaco issues French-format numbers (FR + 2 check digits + 000 + 6 digits). EU numbers are
    printed with their country prefix. A country python-stdnum has no VAT module for (the United
    States, for instance) keeps the number as typed, marked as not checkable.
    """
    country = country.upper()
    value = "".join(raw.split()).upper()
    if not value:
        return VatId(value="", check=Invoice.VatIdCheck.NONE)
    if len(value) > MAX_LENGTH:
        raise VatIdInvalid(_("A VAT number has at most %(count)d characters.") % {"count": MAX_LENGTH})
    if country == "MC":
        module = get_cc_module("mc", "vat")
    elif country in EU_COUNTRIES:
        module = eu_vat
        prefix = _vat_prefix(country)
        if value[:2].isalpha() and value[:2] != prefix:
            raise VatIdInvalid(
                _(
                    "This VAT number starts with %(found)s, but the address is in a country whose numbers start with %(expected)s."
                )
                % {"found": value[:2], "expected": prefix}
            )
        if not value[:2].isalpha():
            value = prefix + value
    else:
        module = get_cc_module(country.lower(), "vat")
    if module is None:
        if not all(character.isalnum() or character in "-./" for character in value):
            raise VatIdInvalid(_("A tax number has only letters, digits, dashes, dots and slashes."))
        return VatId(value=value, check=Invoice.VatIdCheck.UNCHECKED)
    try:
        compact = module.validate(value)
    except stdnum_errors.InvalidChecksum as error:
        raise VatIdInvalid(
            _("The check digits of this VAT number do not match. Please look for a typing mistake.")
        ) from error
    except stdnum_errors.ValidationError as error:
        raise VatIdInvalid(_("This is not a valid VAT number for the country of the address.")) from error
    # EU and Monaco numbers come back with their prefix; the United Kingdom writes GB before its
    # digits; elsewhere the number stands alone (a Chinese unified social credit code, a Swiss CHE-).
    printed = "GB" + compact if country == "GB" and not compact[:2].isalpha() else compact
    return VatId(value=printed, check=Invoice.VatIdCheck.FORMAT)
