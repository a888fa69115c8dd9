import contextlib
import html
import logging
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from allauth.account import app_settings as allauth_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts import security
from accounts.models import User
from accounts.phone import PhoneNumberField, phone_parse, phone_sms_allowed
from accounts.services import email_release_unverified, phone_release_unverified
from notices.sms import SMSError, SMSRefused, send_sms
from portal.lib import secret_box
from portal.lib.messages import in_page_language
from portal.lib.plain_text import plain_text_render

logger = logging.getLogger(__name__)

# allauth mails that carry a code: the code counts as issued only once the mail has left.
_CODE_MAILS = {"account/email/login_code", "account/email/password_reset_code"}


class _Site:
    """What allauth's mail templates call `current_site`: ours, never the request's Host header."""

    def __init__(self) -> None:
        self.name = settings.SITE_NAME
        self.domain = urlsplit(settings.SITE_URL).netloc

    def __str__(self) -> str:
        return self.name


def site_url(url: str) -> str:
    """An absolute URL built from the request, moved onto settings.SITE_URL (scheme and host)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return url
    site = urlsplit(settings.SITE_URL)
    path = site.path.rstrip("/") + parts.path
    return urlunsplit((site.scheme, site.netloc, path, parts.query, parts.fragment))


class AccountAdapter(DefaultAccountAdapter):
    """allauth on our User: the phone lives on User.phone (E.164) and User.phone_verified.

    The security rules (who may try what, how often; which identifiers count) are in
    accounts.security; this adapter applies them at allauth's hooks.
    """

    def add_message(
        self,
        request,
        level: int,
        message_template: str | None = None,
        message_context: dict[str, Any] | None = None,
        extra_tags: str = "",
        message: str | None = None,
    ) -> None:
        """allauth's messages ("Successfully signed in as …") rendered from their template in the
        language of the page that shows them (portal.lib.messages), not of the request that adds
        them: signing in switches to the traveller's language on the very next page."""
        if message or not message_template:
            return super().add_message(request, level, message_template, message_context, extra_tags, message)
        context = message_context or {}

        def render() -> str:
            return html.unescape(render_to_string(message_template, context, request).strip())

        try:
            empty = not render()  # an empty template is allauth's way to say nothing
        except TemplateDoesNotExist:
            return None
        if not empty:
            super().add_message(request, level, extra_tags=extra_tags, message=in_page_language(render))
        return None

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=False)
        # An empty email is stored as NULL: unique, and "no email" for the user_has_email_or_phone rule.
        user.email = user.email or None
        # Notices go where the customer can be reached: a phone-only account gets them by SMS.
        user.notify_email, user.notify_sms = bool(user.email), not user.email
        if user.email:
            # An unverified claim never blocks the address's real owner (accounts.security).
            email_release_unverified(email=user.email, keep_user=user)
        language = translation.get_language()
        if language in dict(settings.LANGUAGES):
            user.language = language
        if commit:
            user.save()
        return user

    # --- Phone storage (allauth switches phone support on when all five are overridden) --------

    def set_phone(self, user, phone: str, verified: bool) -> None:
        if phone:
            phone_release_unverified(phone=phone, keep_user=user)
        user.phone = phone
        user.phone_verified = verified
        if user.pk:
            user.save(update_fields=["phone", "phone_verified"])

    def get_phone(self, user) -> tuple[str, bool] | None:
        if not user.phone:
            return None
        return user.phone, user.phone_verified

    def set_phone_verified(self, user, phone: str) -> None:
        # Also the last step of "change phone": the new number is attached only once it is proven.
        self.set_phone(user, phone, True)

    def get_user_by_phone(self, phone: str):
        # A number we would not accept today is looked up exactly as given.
        with contextlib.suppress(ValidationError):
            phone = phone_parse(phone)
        return User.objects.filter(phone=phone).first()

    def clean_phone(self, phone: str) -> str:
        return phone_parse(phone)

    def phone_form_field(self, **kwargs):
        return PhoneNumberField(**kwargs)

    # --- Passwords: failures per account and client (accounts.security) ------------------------

    def pre_authenticate(self, request, **credentials) -> None:
        # Instead of allauth's "login_failed" (5 per 5 minutes per login, whoever types them),
        # which let anyone lock the owner out.
        security.password_attempt_check(request, credentials)

    def authentication_failed(self, request, **credentials) -> None:
        security.password_attempt_failed(request, credentials)

    # --- Email -----------------------------------------------------------------------------------

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """Every allauth mail links to SITE_URL and names SITE_NAME, whatever Host the request had;
        a mail with a code is checked against the rules first and remembered once it has left."""
        ctx: dict[str, Any] = {
            "email": email,
            "current_site": _Site(),
            "site_name": settings.SITE_NAME,
            "site_url": settings.SITE_URL,
        }
        ctx.update(
            {name: site_url(value) if isinstance(value, str) else value for name, value in context.items()}
        )
        account = None
        if template_prefix in _CODE_MAILS:
            account = User.objects.filter(email__iexact=email, is_active=True).first()
            if account is None:
                return
            if account.is_staff:
                template_prefix = "account/email/staff_code_refused"
            elif security.code_guessing_paused(self.request, account):
                security.code_guessing_notify(account=account)
                return
        message = self.render_mail(template_prefix, email, ctx)
        try:
            message.send()
        except OSError:  # smtplib errors are OSErrors
            if account is None or self.request is None:
                raise
            # The code page stays, to ask again; the undelivered code is never accepted.
            logger.exception("Could not send %s to %s", template_prefix, email)
            messages.error(
                self.request,
                in_page_language(
                    lambda: _("We could not send the email just now. Please ask for a new code in a minute.")
                ),
            )
            return
        if account is not None and not account.is_staff:
            security.code_delivered(request=self.request, account=account, code=ctx.get("code", ""))

    def send_account_already_exists_mail(self, email: str) -> None:
        if not security.email_verified_elsewhere(email):
            return  # the address is free: the taken identifier of this sign-up was the phone
        self.send_mail(
            "account/email/account_already_exists",
            email,
            {
                "signup_url": settings.SITE_URL + reverse("account_signup"),
                "password_reset_url": settings.SITE_URL + reverse("account_reset_password"),
            },
        )

    def get_email_confirmation_url(self, request, emailconfirmation) -> str:
        return site_url(super().get_email_confirmation_url(request, emailconfirmation))

    def get_reset_password_from_key_url(self, key: str) -> str:
        return site_url(super().get_reset_password_from_key_url(key))

    def confirm_email(self, request, email_address) -> bool:
        """A confirmation link proves the address, not that its owner is the account's owner: an
        account that already has a verified phone takes the address only from its own session."""
        user = email_address.user
        signed_in_as_owner = request.user.is_authenticated and request.user.pk == user.pk
        if user.phone_verified and not signed_in_as_owner:
            messages.error(
                request,
                in_page_language(
                    lambda: _(
                        "Log in to your account first, then open the link in the email again to confirm this address."
                    )
                ),
            )
            return False
        email_release_unverified(email=email_address.email, keep_user=user)
        return super().confirm_email(request, email_address)

    # --- Text messages -------------------------------------------------------------------------

    def _refuse(self, message: str) -> None:
        """Stop the flow before anything is stored: back to the page, with the reason."""
        messages.error(self.request, message)
        raise ImmediateHttpResponse(HttpResponseRedirect(self.request.get_full_path()))

    def _send_sms(self, phone: str, template: str | None, context: dict) -> bool:
        """Send one authentication text within the budgets; False when nothing was sent.

        A refusal (number outside the SMS policy, budget spent) stops the flow before the code is
        stored (ImmediateHttpResponse) and tells the person to try later. A provider failure leaves
        them on the code page to ask again; either way an undelivered code is never accepted, since
        only delivered codes are remembered (accounts.security.code_delivered).
        """
        if not phone_sms_allowed(phone):
            logger.warning("SMS to %s not sent: the number is outside the SMS policy", phone)
            if self.request is not None:
                self._refuse(_("We cannot send text messages to this number. Please use your email address."))
            return False
        if not security.sms_budget_take(self.request, phone):
            logger.warning("SMS to %s not sent: budget for this number or address spent", phone)
            if self.request is not None:
                self._refuse(_("Too many text messages were asked for. Please wait an hour and try again."))
            return False
        if template is None:
            return True  # counted like a real text, so nobody can tell which numbers have accounts
        context = {"site_name": settings.SITE_NAME, "site_url": settings.SITE_URL, **context}
        try:
            send_sms(phone, plain_text_render(template, context).strip(), authentication=True)
        except SMSRefused:
            logger.warning("SMS to %s not sent: refused by the SMS policy or the hourly budget", phone)
            if self.request is not None:
                self._refuse(
                    _(
                        "We cannot send text messages just now. Please use your email address, or try again later."
                    )
                )
            return False
        except SMSError:
            logger.exception("Could not send an SMS to %s", phone)
            if self.request is not None:
                messages.error(
                    self.request,
                    in_page_language(
                        lambda: _(
                            "We could not send the text message just now. Please ask for a new code in a minute."
                        )
                    ),
                )
            return False
        return True

    def send_verification_code_sms(self, user, phone: str, code: str, **kwargs) -> None:
        if user.is_staff:
            self._send_sms(phone, "sms/staff_code_refused.txt", {})
            return
        if security.phone_verified_elsewhere(phone, user=user):
            # Adding a number another account has proven: its owner is told, nothing is revealed here.
            self._send_sms(phone, "sms/account_already_exists.txt", {})
            return
        if security.code_guessing_paused(self.request, user):
            self._send_sms(phone, None, {})
            security.code_guessing_notify(account=user)
            return
        if self._send_sms(
            phone, "sms/verification_code.txt", {"code": code, "minutes": settings.AUTH_CODE_TIMEOUT // 60}
        ):
            security.code_delivered(request=self.request, account=user, code=code)

    def send_unknown_account_sms(self, phone: str, **kwargs) -> None:
        template = "sms/unknown_account.txt" if settings.SMS_UNKNOWN_ACCOUNT_TEXTS else None
        self._send_sms(phone, template, {})

    def send_account_already_exists_sms(self, phone: str) -> None:
        known = security.phone_verified_elsewhere(phone)
        self._send_sms(phone, "sms/account_already_exists.txt" if known else None, {})

    def is_reauthentication_required(self, *, app: str, **kwargs) -> bool:
        # A staff member setting up their first authenticator right after logging in (the
        # middleware sends them there) is not asked for the password again, nor to see the recovery
        # codes of the authenticator they proved a minute ago; anything later asks as allauth does.
        user = getattr(self.request, "user", None)
        if app == "allauth.mfa" and user is not None and user.is_authenticated:
            if not is_mfa_enabled(user):
                return False
            since = timezone.now() - timedelta(seconds=allauth_settings.REAUTHENTICATION_TIMEOUT)
            if Authenticator.objects.filter(
                user=user, type=Authenticator.Type.TOTP, created_at__gte=since
            ).exists():
                return False
        return super().is_reauthentication_required(app=app, **kwargs)

    # --- Login stages --------------------------------------------------------------------------

    def get_login_stages(self) -> list[str]:
        ours = {
            "allauth.account.stages.EmailVerificationStage": "accounts.stages.EmailVerificationStage",
            "allauth.account.stages.PhoneVerificationStage": "accounts.stages.PhoneVerificationStage",
        }
        return [ours.get(stage, stage) for stage in super().get_login_stages()]


class MFAAdapter(DefaultMFAAdapter):
    """allauth.mfa for staff: the site's name as issuer (never the request's Host), and a staff
    member's authenticator is removed only by an administrator (who then makes them enrol a new one)."""

    def get_totp_issuer(self) -> str:
        return settings.SITE_NAME

    # The TOTP key and the recovery-code seed are sealed in the database (portal.lib.secret_box).
    def encrypt(self, text: str) -> str:
        return secret_box.seal(text)

    def decrypt(self, encrypted_text: str) -> str:
        return secret_box.unseal(encrypted_text)

    def can_delete_authenticator(self, authenticator) -> bool:
        return not authenticator.user.is_staff
