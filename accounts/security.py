"""Who may try what, how often: logins, codes, trusted devices, and which identifiers can be trusted.

Rules (README "Security" states them with their numbers, which live in settings.ACCOUNT_RATE_LIMITS):

- Wrong passwords are counted per account *and client*. A client is this browser when it holds a
  trusted-device cookie for the account (set at each completed login), else its address. So an
  attacker never locks the owner out: on a device the owner has used before, only that device's own
  failures count. Clients without such a cookie also share one budget per account, which a
  distributed attack can spend; the owner then logs in by code or from a known device.
- Wrong codes (login, password reset, phone verification, account deletion) are counted per account
  across codes and flows, and per address; trusted devices again have their own budget. Once the
  account's budget is spent, code login and reset for it pause and the owner is told by their own
  channel (at most once a day); they can still log in with their password.
- A code counts as issued only once it was delivered (the SMS or email left): an undelivered code is
  never accepted, and a code is not even generated when the text-message budget is spent.
- Identifier rule (pre-account takeover): an identifier (email or phone) belongs to an account only
  once it is verified. Login by code goes only through a verified identifier; a password reset by
  code goes through a verified identifier, or an unverified one when the account has no other
  verified identifier; a reset drops the account's remaining unverified identifiers. So a reset or
  code login never opens an account where someone else's identifier remains.
"""

import contextlib
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.phone import phone_parse
from notices.services import notice_send
from portal.lib import ratelimit

TOO_MANY_PASSWORDS = _("Too many failed login attempts. Please wait a few minutes and try again.")
TOO_MANY_PASSWORDS_ON_ACCOUNT = _(
    "Too many failed login attempts on this account from new devices. Log in with a code sent to your "
    "phone or email, or from a device you have logged in with before."
)

# --- Trusted devices --------------------------------------------------------------------------

DEVICE_COOKIE_NAME = "portal_device"
DEVICE_COOKIE_SALT = "accounts.security.device"
DEVICE_COOKIE_MAX_AGE = int(timedelta(days=365).total_seconds())
DEVICE_MAX_ACCOUNTS = 5


@dataclass(frozen=True)
class Device:
    id: str
    accounts: tuple[int, ...]


def device_read(request: HttpRequest) -> Device | None:
    """The trusted-device cookie, if it is ours and intact (signed with SECRET_KEY)."""
    value = request.COOKIES.get(DEVICE_COOKIE_NAME)
    if not value:
        return None
    try:
        data = signing.loads(value, salt=DEVICE_COOKIE_SALT, max_age=DEVICE_COOKIE_MAX_AGE)
        return Device(id=str(data["id"]), accounts=tuple(int(pk) for pk in data["accounts"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def device_remember(*, request: HttpRequest, response: HttpResponse, user: User) -> None:
    """After a completed login: this browser is a device the account's owner has used."""
    device = device_read(request)
    device_id = device.id if device else secrets.token_urlsafe(16)
    accounts = [user.pk, *[pk for pk in (device.accounts if device else ()) if pk != user.pk]]
    value = signing.dumps(
        {"id": device_id, "accounts": accounts[:DEVICE_MAX_ACCOUNTS]}, salt=DEVICE_COOKIE_SALT
    )
    response.set_cookie(
        DEVICE_COOKIE_NAME,
        value,
        max_age=DEVICE_COOKIE_MAX_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def _trusted_device_id(request: HttpRequest, account_id: int | None) -> str | None:
    device = device_read(request)
    if device is None or account_id is None or account_id not in device.accounts:
        return None
    return device.id


# --- Passwords ----------------------------------------------------------------------------------


def _account_for_credentials(credentials: dict) -> User | None:
    email = (credentials.get("email") or "").strip()
    if email:
        return User.objects.filter(email__iexact=email).first()
    phone = (credentials.get("phone") or "").strip()
    if phone:
        with contextlib.suppress(ValidationError):
            phone = phone_parse(phone)
        return User.objects.filter(phone=phone).first()
    return None


def _account_key(credentials: dict) -> tuple[str, int | None]:
    """One key per account (email and phone of one account share it), or per unknown identifier."""
    account = _account_for_credentials(credentials)
    if account is not None:
        return f"account:{account.pk}", account.pk
    identifier = (credentials.get("email") or credentials.get("phone") or "").strip().lower()
    return f"login:{hashlib.sha256(identifier.encode()).hexdigest()}", None


def _password_limits(request: HttpRequest, credentials: dict) -> list[tuple[str, str | None]]:
    account_key, account_id = _account_key(credentials)
    device_id = _trusted_device_id(request, account_id)
    if device_id:
        return [("password_failed_client", f"{account_key}|device:{device_id}")]
    client = ratelimit.client_address(request)
    return [
        ("password_failed_client", f"{account_key}|ip:{client}"),
        ("password_failed_account", account_key),
    ]


def password_attempt_check(request: HttpRequest, credentials: dict) -> None:
    """Before a password is checked; raises the message to show when a budget is spent."""
    if not ratelimit.allowed(request, "password_failed_ip"):
        raise ValidationError(TOO_MANY_PASSWORDS, code="too_many_login_attempts")
    for action, key in _password_limits(request, credentials):
        if not ratelimit.allowed(request, action, key=key):
            message = (
                TOO_MANY_PASSWORDS_ON_ACCOUNT if action == "password_failed_account" else TOO_MANY_PASSWORDS
            )
            raise ValidationError(message, code="too_many_login_attempts")


def password_attempt_failed(request: HttpRequest, credentials: dict) -> None:
    ratelimit.hit(request, "password_failed_ip")
    for action, key in _password_limits(request, credentials):
        ratelimit.hit(request, action, key=key)


# --- Codes ------------------------------------------------------------------------------------

ISSUED_CODES_SESSION_KEY = "accounts_issued_codes"
ISSUED_CODES_KEPT = 8


def _normalised(code: str) -> str:
    return "".join((code or "").split()).replace("-", "").upper()


def _code_digest(code: str) -> str:
    return hmac.new(str(settings.SECRET_KEY).encode(), _normalised(code).encode(), hashlib.sha256).hexdigest()


def codes_equal(typed: str, expected: str) -> bool:
    """Spaces and dashes ignored, compared in constant time."""
    return bool(expected) and hmac.compare_digest(_normalised(typed), _normalised(expected))


def code_delivered(*, request: HttpRequest | None, account: User, code: str) -> None:
    """Remember, in this browser's session, that `code` reached `account`'s owner."""
    if request is None or not code:
        return
    issued = dict(request.session.get(ISSUED_CODES_SESSION_KEY) or {})
    issued[_code_digest(code)] = {"account": account.pk, "at": time.time()}
    newest = sorted(issued.items(), key=lambda item: item[1]["at"])[-ISSUED_CODES_KEPT:]
    request.session[ISSUED_CODES_SESSION_KEY] = dict(newest)


def code_account(request: HttpRequest, code: str) -> User | None:
    """The account `code` was delivered to in this session, or None: never delivered here."""
    entry = (request.session.get(ISSUED_CODES_SESSION_KEY) or {}).get(_code_digest(code or ""))
    if not entry:
        return None
    return User.objects.filter(pk=entry["account"], is_active=True).first()


def _code_limits(request: HttpRequest, account: User) -> list[tuple[str, User | None, str | None]]:
    device_id = _trusted_device_id(request, account.pk)
    if device_id:
        return [("code_failed_device", None, f"account:{account.pk}|device:{device_id}")]
    return [("code_failed_account", account, None), ("code_failed_ip", None, None)]


def code_guessing_paused(request: HttpRequest, account: User) -> bool:
    """True while this account's budget of wrong codes (for this client) is spent."""
    return not all(
        ratelimit.allowed(request, action, user=user, key=key)
        for action, user, key in _code_limits(request, account)
    )


def code_guess_failed(request: HttpRequest, account: User) -> None:
    """Count one wrong code; the guess that spends the account's budget tells the owner."""
    for action, user, key in _code_limits(request, account):
        ratelimit.hit(request, action, user=user, key=key)
    if not ratelimit.allowed(request, "code_failed_account", user=account):
        code_guessing_notify(account=account)


def code_guessing_notify(*, account: User) -> None:
    """Tell the owner, by email and (if they chose it) SMS, at most once a day."""
    day = timezone.now().date().isoformat()
    notice_send(
        user=account,
        kind="code_guessing_paused",
        key=f"user:{account.pk}:{day}",
        context={},
        always_email=True,
    )


def phone_code_guessing_paused(request: HttpRequest, phone: str) -> bool:
    return not ratelimit.allowed(request, "code_failed_phone", key=phone)


def phone_code_guess_failed(request: HttpRequest, phone: str) -> None:
    ratelimit.hit(request, "code_failed_phone", key=phone)


# --- Text messages ----------------------------------------------------------------------------


def sms_budget_take(request: HttpRequest | None, phone: str) -> bool:
    """One text message to `phone`, asked from this client: within both hourly and daily budgets?"""
    if request is None:
        return False  # an authentication text outside a request: nobody asked for it
    if not (ratelimit.allowed(request, "sms_number", key=phone) and ratelimit.allowed(request, "sms_ip")):
        return False
    return ratelimit.hit(request, "sms_number", key=phone) and ratelimit.hit(request, "sms_ip")


# --- Which identifiers can be trusted ------------------------------------------------------------


def email_is_verified(user: User, email: str | None) -> bool:
    if not email:
        return False
    return EmailAddress.objects.filter(user=user, email__iexact=email, verified=True).exists()


def _other_identifier_verified(user: User, *, email: str | None, phone: str | None) -> bool:
    if phone:
        return bool(user.email) and email_is_verified(user, user.email)
    return bool(user.phone) and user.phone_verified


def code_flow_account(
    user: User | None, *, purpose: str, email: str | None = None, phone: str | None = None
) -> User | None:
    """The account a code may be sent to for `purpose` ("login" or "reset"), or None (as if unknown)."""
    if user is None or not user.is_active or user.anonymised_at:
        return None
    verified = (user.phone == phone and user.phone_verified) if phone else email_is_verified(user, email)
    if verified:
        return user
    if purpose == "reset" and not _other_identifier_verified(user, email=email, phone=phone):
        return user
    return None


def email_verified_elsewhere(email: str, *, user: User | None = None) -> bool:
    """Does another account hold this address as verified (so it is taken)?"""
    addresses = EmailAddress.objects.filter(email__iexact=email, verified=True)
    if user is not None and user.pk:
        addresses = addresses.exclude(user=user)
    return addresses.exists()


def phone_verified_elsewhere(phone: str, *, user: User | None = None) -> bool:
    holders = User.objects.filter(phone=phone, phone_verified=True)
    if user is not None and user.pk:
        holders = holders.exclude(pk=user.pk)
    return holders.exists()
