import logging
import time
from urllib.parse import urlencode

from allauth.account.models import EmailAddress
from allauth.account.views import login as allauth_login
from allauth.core import ratelimit
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import services
from accounts.forms import DeleteAccountForm, PreferencesForm
from accounts.phone import phone_display
from notices.services import NoticeError
from notices.sms import SMSError

logger = logging.getLogger(__name__)

DELETE_CODE_SESSION_KEY = "accounts_delete_code"
DELETE_CODE_TIMEOUT_SECONDS = 15 * 60
DELETE_CODE_MAX_ATTEMPTS = 3


def _set_language_cookie(response: HttpResponse, language: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        form = PreferencesForm(request.POST, instance=user)
        if form.is_valid():
            services.user_update_preferences(user=user, **form.cleaned_data)
            translation.activate(user.language)
            messages.success(request, _("Your preferences are saved."))
            response = redirect("accounts:profile")
            _set_language_cookie(response, user.language)
            return response
    else:
        form = PreferencesForm(instance=user)
    email_verified = (
        bool(user.email)
        and EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=True).exists()
    )
    context = {
        "form": form,
        "email_verified": email_verified,
        "phone_display": phone_display(user.phone),
        "has_password": user.has_usable_password(),
    }
    return render(request, "accounts/profile.html", context)


@login_required
def delete_account(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user.is_staff or user.is_superuser:
        messages.error(request, _("Staff accounts are removed by an administrator."))
        return redirect("accounts:profile")

    stored = request.session.get(DELETE_CODE_SESSION_KEY) or {}
    expected_code = None
    if stored.get("user_id") == user.pk and time.time() - stored.get("at", 0) <= DELETE_CODE_TIMEOUT_SECONDS:
        expected_code = stored.get("code")

    if request.method == "POST" and request.POST.get("action") == "send_code":
        if not ratelimit.consume(request, action="delete_account_code", user=user):
            messages.error(request, _("Too many codes asked for. Please wait a few minutes."))
            return redirect("accounts:delete")
        try:
            code = services.user_send_confirmation_code(user=user)
        except (NoticeError, SMSError, OSError):
            logger.exception("Could not send an account deletion code to user %s", user.pk)
            messages.error(request, _("We could not send you a code just now. Please try again in a minute."))
            return redirect("accounts:delete")
        request.session[DELETE_CODE_SESSION_KEY] = {"user_id": user.pk, "code": code, "at": time.time()}
        messages.info(request, _("We sent you a code. Type it below to confirm."))
        return redirect("accounts:delete")

    if request.method == "POST":
        form = DeleteAccountForm(request.POST, user=user, expected_code=expected_code)
        if form.is_valid():
            services.user_anonymise(user=user)
            request.session.pop(DELETE_CODE_SESSION_KEY, None)
            logout(request)
            messages.success(request, _("Your account has been deleted. Thank you for travelling with us."))
            return redirect("account_login")
        if form.has_error("password") or form.has_error("code"):
            # Guessing is limited like allauth's re-authentication; a code dies after 3 wrong tries.
            stored["failed"] = stored.get("failed", 0) + 1
            if stored["failed"] >= DELETE_CODE_MAX_ATTEMPTS:
                request.session.pop(DELETE_CODE_SESSION_KEY, None)
                expected_code = None
            elif stored.get("code"):
                request.session[DELETE_CODE_SESSION_KEY] = stored
            if not ratelimit.consume(request, action="reauthenticate", user=user):
                messages.error(request, _("Too many attempts. Please wait a few minutes."))
                return redirect("accounts:profile")
    else:
        form = DeleteAccountForm(user=user, expected_code=expected_code)
    context = {
        "form": form,
        "has_password": user.has_usable_password(),
        "code_sent": expected_code is not None,
        "code_goes_to": phone_display(user.phone) if user.phone_verified else user.email,
    }
    return render(request, "accounts/delete.html", context)


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    language = request.POST.get("language", "")
    next_url = request.POST.get("next") or request.META.get("HTTP_REFERER") or "/"
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = "/"
    response = HttpResponseRedirect(next_url)
    if language not in dict(settings.LANGUAGES):
        return response
    if request.user.is_authenticated:
        services.user_set_language(user=request.user, language=language)
    translation.activate(language)
    _set_language_cookie(response, language)
    return response


def admin_login(request: HttpRequest) -> HttpResponse:
    """The admin's login page is allauth's, so staff logins share its rate limits and code login."""
    next_url = request.GET.get("next") or reverse("admin:index")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = reverse("admin:index")
    if request.user.is_authenticated:
        if request.user.is_staff:
            return HttpResponseRedirect(next_url)
        # Without this, allauth would send a signed-in customer back to /admin/, and round again.
        messages.error(request, _("This area is for staff only."))
        return redirect(settings.LOGIN_REDIRECT_URL)
    if request.method == "GET" and "next" not in request.GET:
        return HttpResponseRedirect(f"{request.path}?{urlencode({'next': next_url})}")
    return allauth_login(request)
