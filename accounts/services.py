import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from notices import sms
from notices.services import NoticeError, notice_send, notifications_erase_recipient
from portal.lib.plain_text import plain_text_render

logger = logging.getLogger(__name__)


def user_update_preferences(
    *, user: User, name: str, language: str, notify_email: bool, notify_sms: bool
) -> User:
    if language not in dict(settings.LANGUAGES):
        raise ValueError(f"Unknown language {language!r}.")
    if notify_sms and not (user.phone and user.phone_verified):
        raise ValueError("Notices by SMS need a verified phone number.")
    if not ((notify_email and user.email) or notify_sms):
        raise ValueError("Notices need at least one channel that reaches the customer.")
    user.name = name
    user.language = language
    user.notify_email = notify_email
    user.notify_sms = notify_sms
    user.save(update_fields=["name", "language", "notify_email", "notify_sms"])
    return user


def user_set_language(*, user: User, language: str) -> User:
    if language not in dict(settings.LANGUAGES):
        raise ValueError(f"Unknown language {language!r}.")
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
    return user


@transaction.atomic
def user_anonymise(*, user: User, now: datetime | None = None) -> User:
    """Erase the account's personal details in place; the row stays for the records that point at it.

    A confirmation goes to the address on file before it is erased. Called by
    front.services.account_delete, which then asks billing and usage to erase what they hold.
    """
    from allauth.account.models import EmailAddress

    if user.anonymised_at:
        raise ValueError("This account has already been deleted.")
    if user.is_staff or user.is_superuser:
        raise ValueError("Staff accounts are removed by an administrator, not from the profile page.")
    now = now or timezone.now()

    confirmations = notice_send(user=user, kind="account_deleted", key=f"user:{user.pk}", context={})
    notifications_erase_recipient(user=user, keep=confirmations)
    EmailAddress.objects.filter(user=user).delete()

    user.email = None
    user.phone = None
    user.phone_verified = False
    user.name = ""
    user.notify_email = False
    user.notify_sms = False
    user.is_active = False
    user.anonymised_at = now
    user.set_unusable_password()
    user.save()
    return user


def user_send_confirmation_code(*, user: User) -> str:
    """Send a one-time code to confirm a sensitive action (deleting the account); returns the code.

    By SMS to a verified phone, else by email. The caller keeps the code (in the session).
    """
    from allauth.account.adapter import get_adapter

    code = get_adapter().generate_login_code()
    if user.phone and user.phone_verified:
        body = plain_text_render("sms/confirmation_code.txt", {"code": code, "site_name": settings.SITE_NAME})
        sms.send_sms(user.phone, body.strip(), authentication=True)
    elif user.email:
        get_adapter().send_mail("account/email/confirmation_code", user.email, {"code": code, "user": user})
    else:
        raise NoticeError("This account has no email address or verified phone to send a code to.")
    return code


def phone_release_unverified(*, phone: str, keep_user: User | None = None) -> User | None:
    """An unverified number never blocks its real owner.

    Anyone can type someone else's number at sign-up; until they prove it with the SMS code it is only
    a claim. When another person signs up with it or adds it, the unverified claim is dropped: an
    account with an email keeps the account without the number; an account with nothing else to log
    in with is closed in place (it could never be used without that phone).
    """
    holders = User.objects.filter(phone=phone, phone_verified=False)
    if keep_user is not None and keep_user.pk:
        holders = holders.exclude(pk=keep_user.pk)
    holder = holders.first()
    if holder is None:
        return None
    holder.phone = None
    holder.notify_sms = False
    if holder.email:
        holder.save(update_fields=["phone", "notify_sms"])
    else:
        holder.is_active = False
        holder.anonymised_at = timezone.now()
        holder.name = ""
        holder.set_unusable_password()
        holder.save(update_fields=["phone", "notify_sms", "is_active", "anonymised_at", "name", "password"])
    logger.info("Unverified phone number released from user %s for another person", holder.pk)
    return holder


def user_sessions_end(*, user: User, now: datetime) -> User:
    """Log out everywhere: every session of this user stops matching its hash at once, and the renew
    links sent before now stop working (billing.renew_links reads `sessions_ended_at`)."""
    user.sessions_ended_at = now
    user.save(update_fields=["sessions_ended_at"])
    logger.info("User %s logged out everywhere", user.pk)
    return user


def email_release_unverified(*, email: str, keep_user: User | None = None) -> list[User]:
    """An unverified email address never blocks its real owner (accounts.security, identifier rule).

    Until someone opens the confirmation link (or types a code sent to it) the address is only a
    claim. When another person signs up with it or confirms it, other accounts' claims are dropped:
    an account with a verified phone keeps going without the address; one with nothing else to log
    in with is closed in place. Staff addresses are vouched for by an administrator and never move.
    """
    from allauth.account.models import EmailAddress

    verified_holders = EmailAddress.objects.filter(email__iexact=email, verified=True).values("user_id")
    holders = User.objects.filter(email__iexact=email, is_staff=False).exclude(pk__in=verified_holders)
    others = EmailAddress.objects.filter(email__iexact=email, verified=False)
    if keep_user is not None and keep_user.pk:
        holders = holders.exclude(pk=keep_user.pk)
        others = others.exclude(user=keep_user)
    others.exclude(user__is_staff=True).delete()
    released = []
    for holder in holders:
        EmailAddress.objects.filter(user=holder, email__iexact=email).delete()
        holder.email = None
        holder.notify_email = False
        if holder.phone:
            holder.notify_sms = True  # the one channel left to reach them (notices rule)
            holder.save(update_fields=["email", "notify_email", "notify_sms"])
        else:
            holder.is_active = False
            holder.anonymised_at = timezone.now()
            holder.name = ""
            holder.set_unusable_password()
            holder.save(
                update_fields=["email", "notify_email", "is_active", "anonymised_at", "name", "password"]
            )
        logger.info("Unverified email address released from user %s for another person", holder.pk)
        released.append(holder)
    return released


def user_drop_unverified_identifiers(*, user: User) -> User:
    """After a password reset: only identifiers proven by the person who reset remain.

    A reset goes through a verified identifier, or an unverified one when nothing else on the account
    is verified (accounts.security); either way whatever is still unverified may be someone else's.
    """
    from allauth.account.models import EmailAddress

    fields = []
    email_verified = EmailAddress.objects.filter(
        user=user, email__iexact=user.email or "", verified=True
    ).exists()
    if user.email and not email_verified and user.phone and user.phone_verified:
        EmailAddress.objects.filter(user=user, verified=False).delete()
        user.email = None
        user.notify_email, user.notify_sms = False, True  # the channel left to reach them
        fields += ["email", "notify_email", "notify_sms"]
    if user.phone and not user.phone_verified and user.email:
        user.phone = None
        user.notify_email, user.notify_sms = True, False
        fields += ["phone", "notify_email", "notify_sms"]
    if fields:
        user.save(update_fields=fields)
        logger.info("Unverified identifiers dropped from user %s after a password reset", user.pk)
    return user
