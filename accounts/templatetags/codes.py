from allauth.account import app_settings
from django import template
from django.conf import settings

register = template.Library()

# The page where a code is typed → how long allauth accepts that code.
_TIMEOUT_BY_PAGE = {
    "account_confirm_login_code": "LOGIN_BY_CODE_TIMEOUT",
    "account_confirm_password_reset_code": "PASSWORD_RESET_BY_CODE_TIMEOUT",
    "account_verify_phone": "PHONE_VERIFICATION_TIMEOUT",
    "account_email_verification_sent": "EMAIL_VERIFICATION_BY_CODE_TIMEOUT",
}


@register.simple_tag(takes_context=True)
def code_valid_minutes(context) -> int:
    """How many minutes the code asked for on this page stays valid (what the SMS says too)."""
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    name = _TIMEOUT_BY_PAGE.get(match.url_name if match else "")
    seconds = getattr(app_settings, name) if name else settings.AUTH_CODE_TIMEOUT
    return max(1, seconds // 60)
