"""Notices to customers by email and SMS: queued once per (kind, key, channel), delivered by a worker.

The ground floor: every app may call these; this app imports none of them.
"""

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation

from notices import sms
from notices.models import Notification, NotificationAttachment
from portal.lib.plain_text import plain_text_render

logger = logging.getLogger(__name__)


class NoticeRecipient(Protocol):
    """What a notice needs of a user (accounts.models.User has it); notices never import accounts."""

    # Read-only (properties), so a model whose fields are narrower (email: str) still fits.
    @property
    def pk(self) -> int: ...
    @property
    def email(self) -> str | None: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def phone_verified(self) -> bool: ...
    @property
    def notify_email(self) -> bool: ...
    @property
    def notify_sms(self) -> bool: ...
    @property
    def language(self) -> str: ...


def notice_claim_seconds() -> int:
    """How long a worker holds a notice; a crashed worker's claim lapses and another may deliver it.

    Twice the Celery hard time limit: a live worker never loses its claim mid-send (the limit kills
    it first), and a killed one blocks its notices no longer than needed.
    """
    return 2 * settings.CELERY_TASK_TIME_LIMIT


# Older than this and still pending with no live claim: its task was lost (all retries of a
# failing provider are over within about 8 minutes, see notices.tasks).
NOTICE_STALE_AFTER = timedelta(minutes=15)


class NoticeError(Exception):
    pass


class NoticeDeliveryError(NoticeError):
    """The provider failed; worth another attempt later."""


@dataclass(frozen=True)
class Attachment:
    """A file for an email notice; stored with the notice, so a retry or a resend sends the same bytes."""

    file_name: str
    content_type: str
    content: bytes


def _channels_chosen(user: NoticeRecipient) -> list[tuple[str, str]]:
    email = (Notification.Channel.EMAIL, user.email) if user.email else None
    phone = (Notification.Channel.SMS, user.phone) if user.phone and user.phone_verified else None
    return [
        channel
        for channel, wanted in ((email, user.notify_email), (phone, user.notify_sms))
        if channel and wanted
    ]


def _channel_fallback(user: NoticeRecipient) -> list[tuple[str, str]]:
    if user.phone and user.phone_verified:
        return [(Notification.Channel.SMS, user.phone)]
    if user.email:
        return [(Notification.Channel.EMAIL, user.email)]
    return []


def notice_channels_reachable(user: NoticeRecipient) -> list[str]:
    """The channels an ordinary notice to this user goes to ("email", "sms"); see _notice_channels."""
    return [channel for channel, _recipient in _notice_channels(user, always_email=False)]


def _notice_channels(
    user: NoticeRecipient, *, always_email: bool, email_only: bool = False
) -> list[tuple[str, str]]:
    """The rule (DOMAIN, "notices"): a notice always reaches the customer on at least one channel
    they can receive. A choice that reaches nobody (email ticked without an address, SMS without a
    verified phone, both off) falls back to SMS on a verified phone, else to the email address."""
    if email_only:
        return [(Notification.Channel.EMAIL, user.email)] if user.email else []
    channels = _channels_chosen(user)
    if always_email and user.email and (Notification.Channel.EMAIL, user.email) not in channels:
        channels.insert(0, (Notification.Channel.EMAIL, user.email))
    return channels or _channel_fallback(user)


def notice_send(
    *,
    user: NoticeRecipient,
    kind: str,
    key: str,
    context: dict,
    always_email: bool = False,
    email_only: bool = False,
    attachments: Sequence[Attachment] = (),
) -> list[Notification]:
    """Queue one notice per channel the user chose (or the one they have). A repeated (kind, key) is skipped: at most once.

    `always_email=True` is for what the customer must get whatever they chose (a renewal
    confirmation: "email always when an address is known"); SMS still follows their choice.

    Templates: emails/<kind>.subject.txt, emails/<kind>.txt, emails/<kind>.html, sms/<kind>.txt.
    `context` is stored as JSON and rendered later by a worker in the user's language, so it holds
    ids and strings only. Returns the notices created by this call.

    `email_only=True` sends by email alone, whatever the user chose (a document they asked for);
    `attachments` go with the email only. Whatever the user chose, every other notice reaches them
    on one channel they can receive (_notice_channels).
    """
    try:
        json.dumps(context)
    except (TypeError, ValueError) as error:
        raise NoticeError(f"Notice context for {kind!r} must be JSON-serialisable: {error}") from error

    created = []
    language = user.language or settings.LANGUAGE_CODE
    for channel, recipient in _notice_channels(user, always_email=always_email, email_only=email_only):
        try:
            with transaction.atomic():
                notification = Notification.objects.create(
                    user_id=user.pk,
                    kind=kind,
                    channel=channel,
                    dedupe_key=f"{kind}:{key}:{channel}",
                    recipient=recipient,
                    language=language,
                    context=context,
                )
        except IntegrityError:
            continue  # already sent (or queued) on this channel
        if channel == Notification.Channel.EMAIL:
            NotificationAttachment.objects.bulk_create(
                NotificationAttachment(
                    notification=notification,
                    file_name=attachment.file_name,
                    content_type=attachment.content_type,
                    content=attachment.content,
                )
                for attachment in attachments
            )
        created.append(notification)
        _enqueue_delivery(notification.pk)
    return created


def _enqueue_delivery(notification_id: int) -> None:
    transaction.on_commit(lambda: _deliver_later(notification_id))


def _deliver_later(notification_id: int) -> None:
    from kombu.exceptions import OperationalError

    from notices.tasks import notification_deliver  # tasks import this module

    try:
        notification_deliver.delay(notification_id)
    except OperationalError:
        # Broker down: the row is committed and notifications_requeue_stale will send it later.
        logger.exception("Could not queue notice %s; the periodic sweep will", notification_id)


def notifications_requeue_stale(*, now: datetime) -> int:
    """Queue again the notices nobody is working on that should have gone out long ago.

    A lost broker message or a worker killed mid-send leaves a notice pending; its claim (if any)
    has lapsed. Retries with backoff finish well within NOTICE_STALE_AFTER, so this never races them.
    """
    stale = Notification.objects.filter(
        status=Notification.Status.PENDING, created_at__lt=now - NOTICE_STALE_AFTER
    ).filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
    ids = list(stale.values_list("pk", flat=True)[:500])
    for notification_id in ids:
        _deliver_later(notification_id)
    return len(ids)


def notification_resend(*, notification: Notification) -> Notification:
    """Support asks for a failed or sent notice to go out again on the same channel."""
    if notification.status == Notification.Status.PENDING:
        raise NoticeError("This notice is still waiting to be delivered.")
    user = notification.user
    if user is None or user.anonymised_at:
        raise NoticeError("This notice has no recipient any more (the account was deleted).")
    # To where the customer can be reached today: they may have changed the address since.
    if notification.channel == Notification.Channel.SMS:
        recipient = user.phone if user.phone_verified else None
    else:
        recipient = user.email
    if not recipient:
        raise NoticeError(f"The customer has no {notification.get_channel_display()} address any more.")
    Notification.objects.filter(pk=notification.pk).update(
        status=Notification.Status.PENDING, attempts=0, last_error="", claimed_until=None, recipient=recipient
    )
    notification.refresh_from_db()
    _enqueue_delivery(notification.pk)
    return notification


def notice_render(*, notification: Notification) -> dict[str, str]:
    context = {
        **notification.context,
        "user": notification.user,
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
    }
    with translation.override(notification.language or settings.LANGUAGE_CODE):
        if notification.channel == Notification.Channel.SMS:
            body = plain_text_render(f"sms/{notification.kind}.txt", context).strip()
            return {"body": sms.sms_text_plain(body)}
        subject = plain_text_render(f"emails/{notification.kind}.subject.txt", context)
        return {
            "subject": " ".join(subject.split()),
            "body": plain_text_render(f"emails/{notification.kind}.txt", context).strip() + "\n",
            "html": render_to_string(f"emails/{notification.kind}.html", context),
        }


def notification_claim(*, notification_id: int, now: datetime) -> bool:
    """Conditional UPDATE: only one worker at a time gets a pending notice."""
    claimed = (
        Notification.objects.filter(pk=notification_id, status=Notification.Status.PENDING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + timedelta(seconds=notice_claim_seconds()), attempts=F("attempts") + 1)
    )
    return claimed == 1


def notification_deliver(*, notification_id: int) -> bool:
    """Render and send one notice. Returns False when another worker has it or it is done.

    Raises NoticeDeliveryError when the provider fails (the claim is released so a retry can run)
    and NoticeError, after marking the notice failed, when retrying cannot help.
    """
    now = timezone.now()
    if not notification_claim(notification_id=notification_id, now=now):
        return False
    notification = Notification.objects.select_related("user").get(pk=notification_id)
    try:
        rendered = notice_render(notification=notification)
        if notification.channel == Notification.Channel.SMS:
            sms.send_sms(notification.recipient, rendered["body"])
        else:
            message = EmailMultiAlternatives(
                subject=rendered["subject"],
                body=rendered["body"],
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[notification.recipient],
            )
            message.attach_alternative(rendered["html"], "text/html")
            for attachment in notification.attachments.all():
                message.attach(attachment.file_name, bytes(attachment.content), attachment.content_type)
            message.send()
    except sms.SMSRefused as error:
        notification_mark_failed(notification_id=notification_id, error=str(error))
        raise NoticeError(f"Notice {notification_id} not sent: {error}") from error
    except (sms.SMSError, OSError) as error:  # smtplib errors are OSErrors
        Notification.objects.filter(pk=notification_id).update(claimed_until=None, last_error=str(error))
        raise NoticeDeliveryError(str(error)) from error
    except Exception as error:
        # A missing template or a rendering bug will not heal by retrying: fail it for support now.
        notification_mark_failed(notification_id=notification_id, error=f"{type(error).__name__}: {error}")
        raise NoticeError(f"Notice {notification_id} cannot be delivered: {error}") from error

    updates = {
        "status": Notification.Status.SENT,
        "sent_at": timezone.now(),
        "claimed_until": None,
        "subject": rendered.get("subject", "")[:200],
        "last_error": "",
    }
    user = notification.user
    if user is None or user.anonymised_at:
        # The account was deleted while this notice waited: keep the log row, drop the address.
        updates.update(recipient="", context={})
    Notification.objects.filter(pk=notification_id).update(**updates)
    return True


def notification_mark_failed(*, notification_id: int, error: str) -> None:
    Notification.objects.filter(pk=notification_id).exclude(status=Notification.Status.SENT).update(
        status=Notification.Status.FAILED, claimed_until=None, last_error=error
    )


def notifications_erase_recipient(*, user: NoticeRecipient, keep: Iterable[Notification] = ()) -> int:
    """An account is being deleted: its notices keep their log rows but lose address and context.

    Those still waiting are failed, so nothing more goes out, except `keep` (the confirmation of the
    deletion itself, sent to the address on file before it is erased). Returns how many were erased.
    """
    kept = [notification.pk for notification in keep]
    notices = Notification.objects.filter(user_id=user.pk).exclude(pk__in=kept)
    NotificationAttachment.objects.filter(notification__in=notices).delete()
    notices.filter(status=Notification.Status.PENDING).update(
        status=Notification.Status.FAILED, last_error="Account deleted before delivery."
    )
    return notices.update(recipient="", context={})


def sms_budget_spent_alert() -> list[Notification]:
    """Tell the administrators and support, by email, once an hour, that texts are paused."""
    hour = timezone.now().strftime("%Y-%m-%dT%H")
    logger.warning("Hourly SMS budget (%s) spent: authentication texts pause", settings.SMS_GLOBAL_PER_HOUR)
    staff = (
        get_user_model()
        .objects.filter(is_active=True, is_staff=True, email__isnull=False)
        .filter(Q(is_superuser=True) | Q(groups__name="support"))
        .distinct()
    )
    sent: list[Notification] = []
    for user in staff:
        sent += notice_send(
            user=user,
            kind="sms_budget_spent",
            key=f"hour:{hour}",
            context={"limit": settings.SMS_GLOBAL_PER_HOUR},
            always_email=True,
        )
    return sent
