"""The traveller's pages that combine several apps."""

import logging
import time

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts import security
from accounts.forms import DeleteAccountForm
from accounts.phone import phone_display
from accounts.services import user_send_confirmation_code
from front.services import account_delete
from notices.services import NoticeError
from notices.sms import SMSError
from portal.lib import ratelimit
from portal.lib.messages import in_page_language
from portal.lib.offline import CLEAR_SITE_DATA

logger = logging.getLogger(__name__)

DELETE_CODE_SESSION_KEY = "accounts_delete_code"
DELETE_CODE_TIMEOUT_SECONDS = 15 * 60
DELETE_CODE_MAX_ATTEMPTS = 3


@login_required
def delete_account(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user.is_staff or user.is_superuser:
        messages.error(
            request, in_page_language(lambda: _("Staff accounts are removed by an administrator."))
        )
        return redirect("accounts:profile")

    stored = request.session.get(DELETE_CODE_SESSION_KEY) or {}
    expected_code = None
    if stored.get("user_id") == user.pk and time.time() - stored.get("at", 0) <= DELETE_CODE_TIMEOUT_SECONDS:
        expected_code = stored.get("code")

    if request.method == "POST" and request.POST.get("action") == "send_code":
        by_sms = bool(user.phone and user.phone_verified)
        if not ratelimit.hit(request, "delete_account_code", user=user) or (
            by_sms and not security.sms_budget_take(request, user.phone)
        ):
            messages.error(
                request, in_page_language(lambda: _("Too many codes asked for. Please wait a few minutes."))
            )
            return redirect("front:account_delete")
        try:
            code = user_send_confirmation_code(user=user)
        except (NoticeError, SMSError, OSError):
            logger.exception("Could not send an account deletion code to user %s", user.pk)
            messages.error(
                request,
                in_page_language(
                    lambda: _("We could not send you a code just now. Please try again in a minute.")
                ),
            )
            return redirect("front:account_delete")
        request.session[DELETE_CODE_SESSION_KEY] = {"user_id": user.pk, "code": code, "at": time.time()}
        messages.info(request, in_page_language(lambda: _("We sent you a code. Type it below to confirm.")))
        return redirect("front:account_delete")

    if request.method == "POST":
        form = DeleteAccountForm(request.POST, user=user, expected_code=expected_code)
        if form.is_valid():
            account_delete(user=user)
            request.session.pop(DELETE_CODE_SESSION_KEY, None)
            logout(request)
            messages.success(
                request,
                in_page_language(
                    lambda: _("Your account has been deleted. Thank you for travelling with us.")
                ),
            )
            response = redirect("account_login")
            # The installable app forgets what this device kept (portal.lib.offline).
            response["Clear-Site-Data"] = CLEAR_SITE_DATA
            return response
        if form.has_error("password") or form.has_error("code"):
            # Guessing is limited like allauth's re-authentication; a code dies after 3 wrong tries.
            stored["failed"] = stored.get("failed", 0) + 1
            if stored["failed"] >= DELETE_CODE_MAX_ATTEMPTS:
                request.session.pop(DELETE_CODE_SESSION_KEY, None)
                expected_code = None
            elif stored.get("code"):
                request.session[DELETE_CODE_SESSION_KEY] = stored
            if not ratelimit.hit(request, "reauthenticate", user=user):
                messages.error(
                    request, in_page_language(lambda: _("Too many attempts. Please wait a few minutes."))
                )
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
