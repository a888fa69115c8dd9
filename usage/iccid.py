"""What is printed with a card: the ICCID (18-22 digits, Luhn check digit, ITU-T E.118) and the
eSIM activation code."""

import re

ICCID_RE = re.compile(r"^\d{18,22}$")


def luhn_check_digit(digits: str) -> int:
    """The digit that makes `digits + check` pass the Luhn test."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return (10 - total % 10) % 10


def luhn_is_valid(number: str) -> bool:
    if not number.isdigit() or len(number) < 2:
        return False
    return luhn_check_digit(number[:-1]) == int(number[-1])


def iccid_normalise(raw: str) -> str:
    """Cards print the ICCID in groups; people type it with spaces or dashes."""
    return re.sub(r"[\s-]", "", raw or "")


def iccid_is_valid(iccid: str) -> bool:
    return bool(ICCID_RE.fullmatch(iccid)) and luhn_is_valid(iccid)


def iccid_with_check_digit(body: str) -> str:
    """Completes an ICCID body (17-21 digits) with its check digit; used by demo data and tests."""
    return body + str(luhn_check_digit(body))


def activation_code_parse(code: str) -> tuple[str, str] | None:
    """'LPA:1$smdp.example.com$MATCHING-ID' → (SM-DP+ address, matching ID); None if malformed.

    GSMA SGP.22 allows further optional fields after the matching ID; they are not needed for
    manual entry, which asks for the address and the activation (matching) ID only.
    """
    parts = (code or "").strip().split("$")
    if len(parts) < 3 or parts[0].upper() != "LPA:1" or not parts[1] or "." not in parts[1]:
        return None
    if any(char.isspace() for char in parts[1] + parts[2]):
        return None
    return parts[1], parts[2]
