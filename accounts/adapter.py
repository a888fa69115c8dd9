import contextlib
import logging
import time

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.phone import PhoneNumberField, phone_parse
from notices.sms import SMSError, send_sms

logger = logging.getLogger(__name__)

# Authentication text messages (codes, "no account uses this number") per hour, whatever the endpoint.
SMS_PER_NUMBER = 5
SMS_PER_IP = 20
SMS_WINDOW_SECONDS = 3600


class AccountAdapter(DefaultAccountAdapter):
    """allauth on our User: the phone lives on User.phone (E.164) and User.phone_verified."""

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=False)
        # An empty email is stored as NULL: unique, and "no email" for the user_has_email_or_phone rule.
        user.email = user.email or None
        language = translation.get_language()
        if language in dict(settings.LANGUAGES):
            user.language = language
        if commit:
            user.save()
        return user

    # --- Phone storage (allauth switches phone support on when all five are overridden) --------

    def set_phone(self, user, phone: str, verified: bool) -> None:
        from accounts.services import phone_release_unverified

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

    # --- Text messages -------------------------------------------------------------------------

    def _sms_budget_spent(self, phone: str) -> bool:
        """Per number and per client address, whichever endpoint asks: nobody can spam a phone with
        codes (allauth's per-action limits add up across login code, verification and reset)."""
        from allauth.core.internal.ratelimit import get_ip

        window = int(time.time()) // SMS_WINDOW_SECONDS
        keys = [(f"sms-budget:number:{phone}:{window}", SMS_PER_NUMBER)]
        if self.request is not None:
            keys.append((f"sms-budget:ip:{get_ip(self.request)}:{window}", SMS_PER_IP))
        if any((cache.get(key) or 0) >= limit for key, limit in keys):
            return True
        for key, _limit in keys:
            if not cache.add(key, 1, timeout=SMS_WINDOW_SECONDS):
                try:
                    cache.incr(key)
                except ValueError:  # expired between add and incr
                    cache.set(key, 1, timeout=SMS_WINDOW_SECONDS)
        return False

    def _send_sms(self, phone: str, template: str, context: dict) -> None:
        context = {"site_name": settings.SITE_NAME, "site_url": settings.SITE_URL, **context}
        if self._sms_budget_spent(phone):
            logger.warning("SMS to %s not sent: hourly budget for this number or address spent", phone)
            if self.request is not None:
                messages.error(
                    self.request,
                    _("Too many text messages were asked for. Please wait an hour and try again."),
                )
            return
        try:
            send_sms(phone, render_to_string(template, context).strip())
        except SMSError:
            # The person sees the code page and can ask for a new code; a 500 page would help nobody.
            logger.exception("Could not send an SMS to %s", phone)
            if self.request is not None:
                messages.error(
                    self.request,
                    _("We could not send the text message just now. Please ask for a new code in a minute."),
                )

    def send_verification_code_sms(self, user, phone: str, code: str, **kwargs) -> None:
        self._send_sms(phone, "sms/verification_code.txt", {"code": code})

    def send_unknown_account_sms(self, phone: str, **kwargs) -> None:
        self._send_sms(phone, "sms/unknown_account.txt", {})

    def send_account_already_exists_sms(self, phone: str) -> None:
        self._send_sms(phone, "sms/account_already_exists.txt", {})

    # --- Login stages --------------------------------------------------------------------------

    def get_login_stages(self) -> list[str]:
        ours = {
            "allauth.account.stages.EmailVerificationStage": "accounts.stages.EmailVerificationStage",
            "allauth.account.stages.PhoneVerificationStage": "accounts.stages.PhoneVerificationStage",
        }
        return [ours.get(stage, stage) for stage in super().get_login_stages()]
