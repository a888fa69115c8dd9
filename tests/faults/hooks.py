"""Test-only fault hooks for real worker processes (never imported by the product).

A worker started with DJANGO_SETTINGS_MODULE=tests.faults.worker_settings sends mail and SMS
through the backends below, which write one file per message under FAULT_DIR (the "provider"),
and stops for FAULT_DELAY seconds at the points named in FAULT_POINTS:

- ``topup``: inside the renewal's transaction, right after the ledger top-up (not committed yet);
- ``committed``: right after the renewal committed, before its confirmations are queued;
- ``send``: inside the mail or SMS provider call, before the provider has accepted anything.

While a worker waits at a point, a marker file ``FAULT_DIR/at/<point>-<pid>-<n>`` exists, so a
test can SIGKILL it exactly there. FAULT_EMAIL_FAIL / FAULT_SMS_FAIL make the provider refuse.
"""

from __future__ import annotations

import itertools
import os
import time
import uuid
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend

from notices.sms import BaseBackend, SMSError

_counter = itertools.count()


def fault_dir() -> Path:
    return Path(os.environ["FAULT_DIR"])


def fault_point(name: str) -> None:
    if name not in os.environ.get("FAULT_POINTS", "").split(","):
        return
    marker = fault_dir() / "at" / f"{name}-{os.getpid()}-{next(_counter)}"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    try:
        time.sleep(float(os.environ.get("FAULT_DELAY", "0.3")))
    finally:
        marker.unlink(missing_ok=True)


def _deliver(folder: str, text: str) -> None:
    target = fault_dir() / folder
    target.mkdir(parents=True, exist_ok=True)
    temporary = target / f".{uuid.uuid4().hex}.tmp"
    temporary.write_text(text, encoding="utf-8")
    temporary.rename(target / f"{uuid.uuid4().hex}.txt")  # accepted: atomically, all or nothing


class FaultEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        for message in email_messages:
            fault_point("send")
            if os.environ.get("FAULT_EMAIL_FAIL"):
                raise ConnectionRefusedError("SMTP server refused the connection (injected fault)")
            _deliver("mail", f"To: {', '.join(message.to)}\nSubject: {message.subject}\n\n{message.body}")
        return len(email_messages)


class FaultSMSBackend(BaseBackend):
    def send(self, message) -> None:
        fault_point("send")
        if os.environ.get("FAULT_SMS_FAIL"):
            raise SMSError("SMS provider answered HTTP 503 (injected fault)")
        _deliver("sms", f"To: {message.to}\n\n{message.body}")


def install_fulfilment_points() -> None:
    """Wrap the ledger top-up the renewal calls, in this (worker) process only."""
    from django.db import transaction

    from billing import services

    original = services.card_topup

    def card_topup(**kwargs):
        entry = original(**kwargs)
        fault_point("topup")
        transaction.on_commit(lambda: fault_point("committed"))
        return entry

    services.card_topup = card_topup
