import contextlib
import logging

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.phone import PhoneNumberField, phone_parse
from accounts.sms import SMSError, send_sms

logger = logging.getLogger(__name__)


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

    def _send_sms(self, phone: str, template: str, context: dict) -> None:
        context = {"site_name": settings.SITE_NAME, "site_url": settings.SITE_URL, **context}
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
        return [
            "accounts.stages.EmailVerificationStage"
            if stage == "allauth.account.stages.EmailVerificationStage"
            else stage
            for stage in super().get_login_stages()
        ]
