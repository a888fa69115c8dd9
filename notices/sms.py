"""Text messages through a pluggable backend, chosen by settings.SMS_BACKEND.

- ConsoleFileBackend (development default): prints each message and saves it under settings.SMS_FILE_PATH.
- MemoryBackend (tests): appends to `notices.sms.outbox`, like django.core.mail.outbox.
- HTTPBackend: a Twilio-style provider (form POST with basic auth to settings.SMS_API_URL).
"""

import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests
from django.conf import settings
from django.utils.module_loading import import_string


class SMSError(Exception):
    """A message could not be handed to the provider. The message says why."""


@dataclass(frozen=True)
class SMSMessage:
    to: str
    body: str
    sender: str = ""
    sent_at: datetime = field(default_factory=lambda: datetime.now(UTC))


outbox: list[SMSMessage] = []


class BaseBackend:
    def send(self, message: SMSMessage) -> None:
        raise NotImplementedError


class MemoryBackend(BaseBackend):
    def send(self, message: SMSMessage) -> None:
        outbox.append(message)


class ConsoleFileBackend(BaseBackend):
    def send(self, message: SMSMessage) -> None:
        text = (
            f"SMS to {message.to} from {message.sender} at {message.sent_at.isoformat()}\n\n{message.body}\n"
        )
        folder = Path(settings.SMS_FILE_PATH)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            stamp = message.sent_at.strftime("%Y%m%d-%H%M%S-%f")
            (folder / f"{stamp}.txt").write_text(text, encoding="utf-8")
        except OSError as error:
            raise SMSError(f"Cannot write the SMS file under {folder}: {error}") from error
        line = "-" * 72
        sys.stdout.write(f"{line}\n{text}{line}\n")
        sys.stdout.flush()


class HTTPBackend(BaseBackend):
    """Twilio's Messages API shape: POST To/From/Body as a form, basic auth, 2xx means accepted."""

    timeout_seconds = 10

    def send(self, message: SMSMessage) -> None:
        url = settings.SMS_API_URL
        if not url:
            raise SMSError("SMS_API_URL is not set, so the HTTP SMS backend cannot send anything.")
        try:
            response = requests.post(
                url,
                data={"To": message.to, "From": message.sender, "Body": message.body},
                auth=(settings.SMS_API_USER, settings.SMS_API_TOKEN),
                timeout=self.timeout_seconds,
            )
        except requests.RequestException as error:
            raise SMSError(f"SMS provider unreachable at {url}: {error}") from error
        if not 200 <= response.status_code < 300:
            raise SMSError(
                f"SMS provider refused the message: HTTP {response.status_code} {response.text[:200]}"
            )


# Where the backends lived before the notices app; SMS_BACKEND may still name them (see checks.py).
OLD_MODULE_PREFIX = "accounts.sms."


def backend_path() -> str:
    path = settings.SMS_BACKEND
    if path.startswith(OLD_MODULE_PREFIX):
        return __name__ + "." + path.removeprefix(OLD_MODULE_PREFIX)
    return path


def get_backend() -> BaseBackend:
    return import_string(backend_path())()


def send_sms(to: str, body: str) -> SMSMessage:
    message = SMSMessage(to=to, body=body, sender=settings.SMS_SENDER)
    get_backend().send(message)
    return message
