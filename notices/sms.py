"""Text messages through a pluggable backend, chosen by settings.SMS_BACKEND.

- ConsoleFileBackend (development default): prints each message and saves it under settings.SMS_FILE_PATH.
- MemoryBackend (tests): appends to `notices.sms.outbox`, like django.core.mail.outbox.
- HTTPBackend: a Twilio-style provider (form POST with basic auth to settings.SMS_API_URL).
"""

import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import phonenumbers
import requests
from django.conf import settings
from django.utils.module_loading import import_string
from phonenumbers import PhoneNumberType

from portal.lib import ratelimit


class SMSError(Exception):
    """A message could not be handed to the provider. The message says why."""


class SMSRefused(SMSError):
    """Not sent on purpose (the number is outside the SMS policy, or the hourly budget is spent):
    trying again at once cannot help."""


# --- Who may get a text (the SMS policy, README "Security") -------------------------------------

# Only numbers that can be a traveller's own mobile: premium-rate, shared-cost, personal (UK +44 70),
# UAN, VoIP, pager, voicemail, toll-free and fixed lines are where SMS-pumping fraud sends texts (the
# operator shares the termination fee), and none of them is a phone in a pocket.
SMS_NUMBER_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
# Calling codes of no country (+800, +808, +870, +881 satellite incl. Iridium +8816, +882/+883
# international networks, +979): phonenumbers names their region "001".
NON_GEOGRAPHIC_REGION = "001"


def sms_number_refusal(number: phonenumbers.PhoneNumber) -> str | None:
    """Why this (valid) number gets no text: "not_mobile" or "country_refused"; None if it may."""
    region = phonenumbers.region_code_for_number(number)
    if region is None or region == NON_GEOGRAPHIC_REGION:
        return "not_mobile"
    if phonenumbers.number_type(number) not in SMS_NUMBER_TYPES:
        return "not_mobile"
    allowed = settings.SMS_ALLOWED_COUNTRIES
    if region in settings.SMS_BLOCKED_COUNTRIES or (allowed and region not in allowed):
        return "country_refused"
    return None


def sms_number_allowed(value: str) -> bool:
    """May this stored E.164 number get a text today? Checked at every send, so a number stored
    before the policy changed gets nothing."""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return False
    if not phonenumbers.is_valid_number(number):
        # Every stored number was valid when it was typed (accounts.phone); one phonenumbers can no
        # longer classify is judged by its country alone.
        region = phonenumbers.region_code_for_country_code(number.country_code or 0)
        allowed = settings.SMS_ALLOWED_COUNTRIES
        blocked = ("ZZ", NON_GEOGRAPHIC_REGION, *settings.SMS_BLOCKED_COUNTRIES)
        return region not in blocked and (not allowed or region in allowed)
    return sms_number_refusal(number) is None


# --- Segments: what a text costs and how it arrives -------------------------------------------

# GSM 03.38: the default alphabet (one septet each) and its extension table (two: escape + char).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


# Typography the GSM alphabet lacks, where a plain character reads the same: one of these would turn
# the whole text into UCS-2 (70 characters a segment instead of 160). "14,90\u00a0€" is Django's.
GSM7_PLAIN = str.maketrans(
    {
        "\u00a0": " ",
        "\u202f": " ",
        "\u2009": " ",
        "\u2019": "'",
        "\u2018": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
    }
)


def sms_text_plain(body: str) -> str:
    """The body with typographic spaces, quotes and dashes made plain (none is lost in reading)."""
    return body.translate(GSM7_PLAIN)


def sms_segments(body: str) -> int:
    """How many SMS segments this body takes: GSM-7 (160 septets, 153 when split) when every
    character is in the GSM alphabet, else UCS-2 (70 characters, 67 when split; Chinese)."""
    if all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in body):
        septets = sum(2 if char in GSM7_EXTENSION else 1 for char in body)
        return 1 if septets <= 160 else -(-septets // 153)
    units = len(body.encode("utf-16-le")) // 2
    return 1 if units <= 70 else -(-units // 67)


@dataclass(frozen=True)
class SMSMessage:
    to: str
    body: str
    sender: str = ""
    sent_at: datetime = field(default_factory=lambda: datetime.now(UTC))


outbox: list[SMSMessage] = []


class BaseBackend:
    def send(self, message: SMSMessage) -> None:
        raise NotImplementedError


class MemoryBackend(BaseBackend):
    def send(self, message: SMSMessage) -> None:
        outbox.append(message)


class ConsoleFileBackend(BaseBackend):
    def send(self, message: SMSMessage) -> None:
        text = (
            f"SMS to {message.to} from {message.sender} at {message.sent_at.isoformat()}\n\n{message.body}\n"
        )
        folder = Path(settings.SMS_FILE_PATH)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            stamp = message.sent_at.strftime("%Y%m%d-%H%M%S-%f")
            (folder / f"{stamp}.txt").write_text(text, encoding="utf-8")
        except OSError as error:
            raise SMSError(f"Cannot write the SMS file under {folder}: {error}") from error
        line = "-" * 72
        sys.stdout.write(f"{line}\n{text}{line}\n")
        sys.stdout.flush()


class HTTPBackend(BaseBackend):
    """Twilio's Messages API shape: POST To/From/Body as a form, basic auth, 2xx means accepted."""

    timeout_seconds = 10

    def send(self, message: SMSMessage) -> None:
        url = settings.SMS_API_URL
        if not url:
            raise SMSError("SMS_API_URL is not set, so the HTTP SMS backend cannot send anything.")
        try:
            response = requests.post(
                url,
                data={"To": message.to, "From": message.sender, "Body": message.body},
                auth=(settings.SMS_API_USER, settings.SMS_API_TOKEN),
                timeout=self.timeout_seconds,
            )
        except requests.RequestException as error:
            raise SMSError(f"SMS provider unreachable at {url}: {error}") from error
        if not 200 <= response.status_code < 300:
            raise SMSError(
                f"SMS provider refused the message: HTTP {response.status_code} {response.text[:200]}"
            )


# Where the backends lived before the notices app; SMS_BACKEND may still name them (see checks.py).
OLD_MODULE_PREFIX = "accounts.sms."


def backend_path() -> str:
    path = settings.SMS_BACKEND
    if path.startswith(OLD_MODULE_PREFIX):
        return __name__ + "." + path.removeprefix(OLD_MODULE_PREFIX)
    return path


def get_backend() -> BaseBackend:
    return import_string(backend_path())()


def _hourly_budget_take(*, authentication: bool) -> bool:
    """Every text counts against SMS_GLOBAL_PER_HOUR. Once it is spent, texts that anyone can
    trigger (codes, "someone tried to sign up") pause and staff are told; notices the portal itself
    sends (renewals, alerts) still go out."""
    if ratelimit.hit_key("sms_global", key="all"):
        return True
    from notices.services import sms_budget_spent_alert  # services imports this module

    sms_budget_spent_alert()
    return not authentication


def send_sms(to: str, body: str, *, authentication: bool = False) -> SMSMessage:
    if not sms_number_allowed(to):
        raise SMSRefused(f"{to} is outside the SMS policy (number type or country)")
    if not _hourly_budget_take(authentication=authentication):
        raise SMSRefused("The hourly SMS budget (SMS_GLOBAL_PER_HOUR) is spent")
    message = SMSMessage(to=to, body=body, sender=settings.SMS_SENDER)
    get_backend().send(message)
    return message
