from allauth.account import forms as allauth_forms
from allauth.account.adapter import get_adapter
from allauth.account.models import EmailAddress
from allauth.core import context
from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts import security
from accounts.models import User
from accounts.password_reset import PhonePasswordResetProcess
from accounts.phone import PhoneNumberField, country_choices, default_region, phone_parse

EMAIL_OR_PHONE_REQUIRED = _("Give an email address or a mobile phone number, or both.")
NO_CHANNEL_LEFT = _(
    "Keep at least one way for us to reach you: renewal confirmations and expiry alerts go there. "
    "Tick email or text message."
)
SMS_ONLY_CHANNEL = _(
    "Text messages are the only way we can reach you, so they stay on. Add an email address to "
    "choose email instead."
)
ONLY_ONE = _("Give either an email address or a phone number, not both.")


class SignupForm(allauth_forms.SignupForm):
    """Email, phone or both; bad numbers are form errors and nothing is created.

    An email or phone another account has verified is never revealed: the sign-up answers as for a
    new one (a code is "sent") and the owner is told someone tried. One only claimed (unverified)
    elsewhere is not taken: it moves to this account (accounts.security, identifier rule).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].label = _("Email")
        self.fields["email"].help_text = EMAIL_OR_PHONE_REQUIRED
        self.fields["phone"].label = _("Mobile phone")
        self.fields["phone"].help_text = _("We send a code by text message to check it.")

    def validate_unique_email(self, value: str) -> str:
        self.email_taken = security.email_verified_elsewhere(value)
        if self.email_taken:
            self.account_already_exists = True
        return value

    def _clean_phone(self) -> None:
        phone = self.cleaned_data.get("phone")
        if phone and security.phone_verified_elsewhere(phone):
            self.account_already_exists = True

    def try_save(self, request):
        if (
            self.account_already_exists
            and getattr(self, "email_taken", False)
            and self.cleaned_data.get("phone")
        ):
            # allauth's answer stops at the phone step, so the email's owner is told here.
            get_adapter().send_account_already_exists_mail(self.cleaned_data["email"])
        return super().try_save(request)

    def clean(self):
        cleaned_data = super().clean()
        has_email = bool(cleaned_data.get("email"))
        has_phone = bool(cleaned_data.get("phone"))
        email_rejected = "email" in self.errors
        phone_rejected = "phone" in self.errors
        if not (has_email or has_phone or email_rejected or phone_rejected):
            raise ValidationError(EMAIL_OR_PHONE_REQUIRED, code="email_or_phone_required")
        return cleaned_data


class LoginForm(allauth_forms.LoginForm):
    """One box for an email or a phone number; a national number is read with the picked country."""

    country = forms.ChoiceField(
        label=_("Country of your phone number"),
        choices=country_choices,
        required=False,
        help_text=_("Only needed for a phone number typed without + and the country code."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["login"].label = _("Email or mobile phone")
        # An example as help, not as a placeholder: a placeholder this long is cut off on a phone
        # and vanishes as soon as one types.
        # No-break spaces: the number never splits across lines.
        self.fields["login"].help_text = _("For example you@example.com or 06 12 34 56 78")  # noqa: RUF001
        self.fields["login"].widget.attrs.pop("placeholder", None)
        self.fields["login"].widget.attrs.update({"autocomplete": "username"})
        self.fields["country"].initial = default_region()
        order = ["login", "country", *[name for name in self.fields if name not in ("login", "country")]]
        self.order_fields(order)

    def clean_login(self) -> str:
        login = super().clean_login()
        if "@" in login:
            return login.lower()
        region = self.data.get(self.add_prefix("country")) or default_region()
        if region not in dict(country_choices()):
            region = default_region()
        try:
            return phone_parse(login, region)
        except ValidationError:
            return login  # not a phone either: allauth answers with its generic "not correct"


class RequestLoginCodeForm(allauth_forms.RequestLoginCodeForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].label = _("Email")
        self.fields["phone"].label = _("Mobile phone")
        self.fields["phone"].required = False

    def clean(self):
        cleaned_data = super().clean()
        if not cleaned_data.get("email") and not cleaned_data.get("phone") and not self.errors:
            raise ValidationError(EMAIL_OR_PHONE_REQUIRED, code="email_or_phone_required")
        # Codes go only through a verified identifier (accounts.security); otherwise as if unknown.
        self._user = security.code_flow_account(
            getattr(self, "_user", None),
            purpose="login",
            email=cleaned_data.get("email"),
            phone=cleaned_data.get("phone"),
        )
        return cleaned_data


class _BudgetedCodeMixin:
    """The confirm step of a code: only a code delivered in this session counts, to its account,
    and wrong ones spend that account's budget (accounts.security). A paused account's codes are
    all refused, exactly like a wrong one, so the pause reveals nothing."""

    expected_code: str

    def clean_code(self) -> str:
        request = context.request
        account = security.code_account(request, self.expected_code) if self.expected_code else None
        if account is None or security.code_guessing_paused(request, account):
            raise get_adapter().validation_error("incorrect_code")
        try:
            return super().clean_code()  # type: ignore[misc]  # allauth's form, untyped
        except ValidationError:
            security.code_guess_failed(request, account)
            raise


class _DigitsCodeMixin:
    """Codes are six digits (ALLAUTH_USER_CODE_FORMAT): a phone shows its number pad and offers the
    code from the text message that just arrived."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].widget.attrs.update(
            {"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9]*"}
        )


class ConfirmLoginCodeForm(_DigitsCodeMixin, _BudgetedCodeMixin, allauth_forms.ConfirmLoginCodeForm):
    pass


class ConfirmPasswordResetCodeForm(
    _DigitsCodeMixin, _BudgetedCodeMixin, allauth_forms.ConfirmPasswordResetCodeForm
):
    pass


class ResetPasswordForm(allauth_forms.ResetPasswordForm):
    """Reset by email (a code by email) or by phone (a code by SMS)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].required = False
        self.fields["email"].label = _("Email")
        self.fields["phone"] = PhoneNumberField(label=_("or mobile phone"), required=False)

    def clean_email(self) -> str:
        if not self.cleaned_data.get("email"):
            self.users: list = []
            return ""
        email = super().clean_email()
        self.users = [
            user for user in self.users if security.code_flow_account(user, purpose="reset", email=email)
        ]
        return email

    def clean(self):
        cleaned_data = super().clean()
        email, phone = cleaned_data.get("email"), cleaned_data.get("phone")
        if self.errors:
            return cleaned_data
        if email and phone:
            raise ValidationError(ONLY_ONE, code="select_only_one")
        if not email and not phone:
            raise ValidationError(EMAIL_OR_PHONE_REQUIRED, code="email_or_phone_required")
        if phone:
            # allauth's view rate-limits resets per cleaned_data["email"]: key them by phone instead.
            cleaned_data["email"] = phone
            self.phone_user = security.code_flow_account(
                get_adapter().get_user_by_phone(phone), purpose="reset", phone=phone
            )
        return cleaned_data

    def save(self, request, **kwargs) -> str:
        phone = self.cleaned_data.get("phone")
        if not phone:
            return super().save(request, **kwargs)
        PhonePasswordResetProcess.initiate_by_phone(request=request, user=self.phone_user, phone=phone)
        return phone


class VerifyPhoneForm(_DigitsCodeMixin, allauth_forms.VerifyPhoneForm):
    """allauth's, with the code budget per number and per account, and only a verified holder
    blocking: an unverified claim on the number is released when its real owner proves it
    (accounts.services.phone_release_unverified)."""

    def clean_code(self) -> str:
        request = context.request
        delivered = (
            self.user is not None
            and self.expected_code
            and security.code_account(request, self.expected_code)
        )
        if (
            not delivered
            or delivered.pk != self.user.pk
            or security.phone_code_guessing_paused(request, self.phone)
            or security.code_guessing_paused(request, self.user)
        ):
            raise get_adapter().validation_error("incorrect_code")
        try:
            code = allauth_forms.BaseConfirmCodeForm.clean_code(self)
        except ValidationError:
            security.phone_code_guess_failed(request, self.phone)
            security.code_guess_failed(request, self.user)
            raise
        if security.phone_verified_elsewhere(self.phone, user=self.user):
            raise ValidationError(get_adapter().error_messages["phone_taken"], code="phone_taken")
        return code


class ChangePhoneForm(allauth_forms.ChangePhoneForm):
    """A number another account has verified is not revealed: a code is "sent" as for any number,
    and its owner gets a notice instead (accounts.adapter). An unverified claim does not block."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["phone"].label = _("New mobile phone")

    def clean_phone(self) -> str:
        phone = super().clean_phone()
        self.account_already_exists = security.phone_verified_elsewhere(phone, user=self.user)
        return phone


class AddEmailForm(allauth_forms.AddEmailForm):
    """Adding an address another account has verified answers as for a free one ("confirmation
    sent") and tells its owner instead; an unverified claim elsewhere moves here once confirmed."""

    def clean_email(self) -> str:
        email = super().clean_email()
        self.account_already_exists = security.email_verified_elsewhere(email, user=self.user)
        return email

    def save(self, request):
        if not self.account_already_exists:
            return super().save(request)
        email = self.cleaned_data["email"]
        get_adapter().send_account_already_exists_mail(email)
        get_adapter().add_message(
            request, messages.INFO, "account/messages/email_confirmation_sent.txt", {"email": email}
        )
        return EmailAddress(user=self.user, email=email)


# --- Profile -------------------------------------------------------------------------------------


class PreferencesForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["name", "language", "notify_email", "notify_sms"]
        labels = {
            "name": _("Your name (optional)"),
            "language": _("Language for pages and notices"),
            "notify_email": _("Send me notices by email"),
            "notify_sms": _("Send me notices by text message (SMS)"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = settings.LANGUAGES
        if not self.instance.phone_verified:
            self.fields["notify_sms"].help_text = _(
                "Add and verify a mobile phone number to get notices by SMS."
            )
        if not self.instance.email:
            # Nothing to send to: shown unticked and not offered, whatever was stored.
            self.fields["notify_email"].disabled = True
            self.initial["notify_email"] = False
            self.fields["notify_email"].help_text = _("Add an email address to get notices by email.")

    def clean_notify_sms(self) -> bool:
        notify_sms = self.cleaned_data["notify_sms"]
        if notify_sms and not self.instance.phone_verified:
            raise ValidationError(
                _("Add and verify a mobile phone number first; then you can choose text messages."),
                code="phone_not_verified",
            )
        return notify_sms

    def clean(self):
        cleaned_data = super().clean()
        by_email = cleaned_data.get("notify_email") and self.instance.email
        by_sms = cleaned_data.get("notify_sms") and self.instance.phone_verified
        if not (by_email or by_sms) and not self.has_error("notify_sms"):
            if self.instance.email:
                raise ValidationError(NO_CHANNEL_LEFT, code="no_channel_left")
            raise ValidationError(SMS_ONLY_CHANNEL, code="no_channel_left")
        return cleaned_data


class DeleteAccountForm(forms.Form):
    """Confirm with the password, or with a code sent by SMS/email for people who have none."""

    password = forms.CharField(
        label=_("Your password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = forms.CharField(
        label=_("Or the code we sent you"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
    confirm = forms.BooleanField(
        label=_("I understand that my personal details are erased and this cannot be undone."),
        required=True,
    )

    def __init__(self, *args, user: User, expected_code: str | None, **kwargs):
        self.user = user
        self.expected_code = expected_code
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned_data = super().clean()
        password = cleaned_data.get("password")
        code = (cleaned_data.get("code") or "").strip()
        request = context.request
        if password:
            if not self.user.check_password(password):
                self.add_error("password", _("This password is not correct."))
        elif code:
            if (
                not self.expected_code
                or security.code_guessing_paused(request, self.user)
                or not security.codes_equal(code, self.expected_code)
            ):
                if self.expected_code and not security.code_guessing_paused(request, self.user):
                    security.code_guess_failed(request, self.user)
                self.add_error("code", _("This code is not correct or has expired."))
        else:
            raise ValidationError(
                _("Type your password, or ask for a code and type it."), code="confirmation_required"
            )
        return cleaned_data
