from allauth.account import stages
from allauth.account.app_settings import EmailVerificationMethod
from allauth.account.utils import has_verified_email
from allauth.core.exceptions import RateLimited

from portal.lib.ratelimit import respond_429


class EmailVerificationStage(stages.EmailVerificationStage):
    """Email verification is mandatory for a person who has only an email to prove who they are.

    allauth's own setting is global ("optional" here, since phone-only travellers have no email), so
    the choice is made per login: someone whose phone is verified may come in and verify the email
    later; someone relying on an email must verify it first. Staff accounts are made by an
    administrator (createsuperuser, the admin), who vouches for the address. A sign-up with an
    address another account holds (no user: enumeration prevention) answers exactly like a new
    email-only sign-up: "check your inbox".
    """

    def handle(self):
        user = self.login.user
        if (user is None and self.login.email) or (
            user is not None
            and user.email
            and not user.is_staff
            and not user.phone_verified
            and not has_verified_email(user)
        ):
            self.login.email_verification = EmailVerificationMethod.MANDATORY
        return super().handle()


class PhoneVerificationStage(stages.PhoneVerificationStage):
    """allauth's, except that its per-address limit on verification texts ("verify_phone") answers
    429 instead of escaping as a 500 when a fourth sign-up in a minute comes from one address."""

    def handle(self):
        try:
            return super().handle()
        except RateLimited:
            return respond_429(self.request), False
