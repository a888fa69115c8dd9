"""What a support agent typed in a search box, read as the exact keys it can be.

"+377 6 12 34 56 78" is a phone number (E.164 "+37761234567"), "Carla@Example.COM" an email
("carla@example.com"), "8937 7000 1000 0000 007" an ICCID ("8937700010000000007"), "mc-2026-000123"
an order number ("MC-2026-000123"), "pi_3Carla" a Stripe id. Each key is looked up exactly through
an index; only a term that is none of them (or matches none) is searched as text, for names.
"""

import re
from dataclasses import dataclass

import phonenumbers
from django.conf import settings

PHONE = "phone"
EMAIL = "email"
ICCID = "iccid"
ORDER_NUMBER = "order_number"
STRIPE_ID = "stripe_id"
TERM = "term"  # the term itself, stripped: for ids matched exactly as typed (usage record ids)
# Keys no name contains: a term read as one of these that matches nothing is searched no further.
IDENTIFIER_KINDS = frozenset({PHONE, ICCID, ORDER_NUMBER, STRIPE_ID})

STRIPE_ID_PREFIXES = ("pi_", "cs_", "ch_", "cus_", "re_", "py_", "pm_", "in_", "dp_", "du_", "evt_")
_ORDER_NUMBER = re.compile(r"^[A-Za-z]{2}-\d{4}-\d+$")
_PHONE_LIKE = re.compile(r"[+\d][\d\s().\-/]{5,}")


@dataclass(frozen=True)
class SearchKey:
    kind: str
    value: str


def phone_e164(term: str) -> str | None:
    """'+377 6 12 34 56 78', '06 12 34 56 78', '00377612345678' -> '+37761234567' (or None).

    A national number is read in the portal's default region (settings.PHONE_DEFAULT_REGION)."""
    cleaned = term.strip()
    if cleaned.startswith("00"):
        cleaned = "+" + cleaned[2:]
    if not _PHONE_LIKE.fullmatch(cleaned):
        return None
    try:
        number = phonenumbers.parse(cleaned, settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def search_keys_parse(term: str) -> list[SearchKey]:
    """Every exact key the term can be, normalised as stored; [] for an empty term."""
    term = term.strip()
    if not term:
        return []
    keys = [SearchKey(TERM, term)]
    if "@" in term and " " not in term:
        keys.append(SearchKey(EMAIL, term.lower()))
    phone = phone_e164(term)
    if phone:
        keys.append(SearchKey(PHONE, phone))
    digits = re.sub(r"[\s-]", "", term)
    if digits.isdigit() and 18 <= len(digits) <= 22:
        keys.append(SearchKey(ICCID, digits))
    if _ORDER_NUMBER.match(term):
        keys.append(SearchKey(ORDER_NUMBER, term.upper()))
    if term.startswith(STRIPE_ID_PREFIXES) and " " not in term:
        keys.append(SearchKey(STRIPE_ID, term))
    return keys
