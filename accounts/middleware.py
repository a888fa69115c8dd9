import time
from collections.abc import Callable
from urllib.parse import urlencode

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from portal.lib import ratelimit
from portal.lib.messages import in_page_language

STAFF_SESSION_STARTED_KEY = "accounts_staff_session_started"
# What a staff member without an authenticator may still open: setting one up, and leaving.
_STAFF_ENROLMENT_URL_NAMES = {
    "mfa_activate_totp",
    "mfa_index",
    "mfa_view_recovery_codes",
    "mfa_generate_recovery_codes",
    "mfa_download_recovery_codes",
    "mfa_reauthenticate",
    "account_reauthenticate",
    "account_logout",
    "accounts:set_language",
    "set_language",
}


# The signed-in customer's saved language, kept in their session so that a page which does not
# need the user does not load it for the language alone. "" = the account has none saved.
LANGUAGE_SESSION_KEY = "accounts_language"


def session_language_remember(request: HttpRequest, language: str) -> None:
    """Called where the saved language changes (profile, language switcher), for this session."""
    request.session[LANGUAGE_SESSION_KEY] = language


class UserLanguageMiddleware:
    """A signed-in customer's saved language wins over Accept-Language and the cookie.

    Read from the session when it holds it; otherwise from the user, once, and kept in the session.
    A session that is not signed in is left to LocaleMiddleware without loading anything. (Another
    device changing the language reaches this session at its next login.)
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None and SESSION_KEY in session:
            language = session.get(LANGUAGE_SESSION_KEY)
            if language is None:
                user = request.user
                if user.is_authenticated:
                    language = user.language or ""
                    session_language_remember(request, language)
            if language:
                translation.activate(language)
                request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)


class StaffSecurityMiddleware:
    """Staff sessions: a second factor before any page, shorter lives.

    - A staff member without an authenticator (allauth.mfa TOTP) can only set one up. Once they
      have one, allauth asks for its code at every login (and staff cannot log in by a code sent
      to them, see accounts.adapter), so every staff session has passed two factors.
    - The session ends when the browser closes, and after settings.STAFF_SESSION_MAX_AGE.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> HttpResponse | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_staff:
            return None
        now = time.time()
        started = request.session.setdefault(STAFF_SESSION_STARTED_KEY, now)
        if now - started > settings.STAFF_SESSION_MAX_AGE:
            logout(request)
            messages.info(
                request, in_page_language(lambda: _("Your staff session has ended. Please log in again."))
            )
            return redirect(f"{reverse('account_login')}?{urlencode({'next': request.get_full_path()})}")
        if not request.session.get_expire_at_browser_close():
            request.session.set_expiry(0)
        url_name = request.resolver_match.view_name if request.resolver_match else ""
        if url_name in _STAFF_ENROLMENT_URL_NAMES or is_mfa_enabled(user, [Authenticator.Type.TOTP]):
            return None
        messages.warning(
            request,
            in_page_language(
                lambda: _(
                    "Staff accounts need an authenticator app. Set it up now: scan the code, then type the six digits it shows."
                )
            ),
        )
        return redirect(f"{reverse('mfa_activate_totp')}?{urlencode({'next': request.get_full_path()})}")


class WriteLimitMiddleware:
    """Every write a person makes is rate-limited (portal.lib.ratelimit), per account and per client,
    per hour and per day: a ceiling for all forms, under the tighter limits some views add
    (ticket replies, promo codes, card claims). Machine endpoints (Stripe, the carrier feed) prove
    themselves by signature, carry no CSRF token (csrf_exempt) and are not limited here."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> HttpResponse | None:
        if request.method in ratelimit.SAFE_METHODS or getattr(view_func, "csrf_exempt", False):
            return None
        user = request.user
        if user.is_authenticated:
            within = ratelimit.hit(request, "staff_write" if user.is_staff else "customer_write", user=user)
        else:
            within = ratelimit.hit(request, "anonymous_write")
        return None if within else ratelimit.respond_429(request)
