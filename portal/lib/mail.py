import sys
from collections.abc import Sequence

from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.core.mail.backends.filebased import EmailBackend as FileBackend
from django.core.mail.message import EmailMessage


class FileAndConsoleBackend(FileBackend):
    """Development mail: each message is saved under var/mail/ and echoed to the console."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        sent = super().send_messages(email_messages)
        ConsoleBackend(stream=sys.stdout).send_messages(email_messages)
        return sent
