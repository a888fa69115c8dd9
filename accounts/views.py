import logging
from urllib.parse import urlencode

from allauth.account.models import EmailAddress
from allauth.account.views import login as allauth_login
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import services
from accounts.forms import PreferencesForm
from accounts.middleware import session_language_remember
from portal.lib.messages import in_page_language
from portal.lib.offline import CLEAR_SITE_DATA
from portal.lib.ratelimit import limit_writes

logger = logging.getLogger(__name__)


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
@limit_writes("profile_update")
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        form = PreferencesForm(request.POST, instance=user)
        if form.is_valid():
            services.user_update_preferences(user=user, **form.cleaned_data)
            session_language_remember(request, user.language)
            translation.activate(user.language)
            messages.success(request, in_page_language(lambda: _("Your preferences are saved.")))
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
        "has_password": user.has_usable_password(),
    }
    return render(request, "accounts/profile.html", context)


@login_required
@require_POST
def logout_everywhere(request: HttpRequest) -> HttpResponse:
    """Every device, this one included; renew links already sent stop working too."""
    services.user_sessions_end(user=request.user, now=timezone.now())
    logout(request)
    messages.success(
        request,
        in_page_language(
            lambda: _("You are logged out on every device, and the renew links we sent you no longer work.")
        ),
    )
    response = redirect("account_login")
    response["Clear-Site-Data"] = CLEAR_SITE_DATA
    return response


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
        session_language_remember(request, language)
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
        messages.error(request, in_page_language(lambda: _("This area is for staff only.")))
        return redirect(settings.LOGIN_REDIRECT_URL)
    if request.method == "GET" and "next" not in request.GET:
        return HttpResponseRedirect(f"{request.path}?{urlencode({'next': next_url})}")
    return allauth_login(request)
