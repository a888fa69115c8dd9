"""What /healthz reports: can we reach the database and the broker, and is beat ticking?"""

import logging
import os
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from portal.celery import app

logger = logging.getLogger(__name__)

HEARTBEAT_CACHE_KEY = "portal:heartbeat"
BROKER_TIMEOUT_SECONDS = 2
# When this process started: a heartbeat missing (or left stale by the last run) in its first
# HEARTBEAT_STALE_SECONDS is the worker and beat starting alongside it, not an outage.
PROCESS_STARTED_AT = time.time()


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str


def heartbeat_record(*, at: float | None = None) -> None:
    # No expiry: an old heartbeat must stay visible as "stale", not vanish as "missing".
    cache.set(HEARTBEAT_CACHE_KEY, time.time() if at is None else at, timeout=None)


def heartbeat_age_seconds(*, now: float | None = None) -> float | None:
    beat = cache.get(HEARTBEAT_CACHE_KEY)
    if beat is None:
        return None
    return max(0.0, (time.time() if now is None else now) - float(beat))


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:
        logger.warning("health: database unreachable: %s", error)
        return Check(False, type(error).__name__)
    return Check(True, connection.vendor)


def check_broker() -> Check:
    transport_options = {
        **(app.conf.broker_transport_options or {}),
        "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
        "socket_timeout": BROKER_TIMEOUT_SECONDS,
    }
    try:
        with app.connection_for_write(
            connect_timeout=BROKER_TIMEOUT_SECONDS, transport_options=transport_options
        ) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT_SECONDS)
            # Opening a channel is what talks to the server (Redis answers a PING here).
            conn.default_channel  # noqa: B018
            transport = conn.transport_cls
        if transport == "filesystem":
            # The filesystem broker "connects" to anything: check its folder really takes messages.
            folder = transport_options.get("data_folder_out", "")
            if not (os.path.isdir(folder) and os.access(folder, os.W_OK)):
                raise OSError(f"broker folder {folder!r} is missing or not writable")
    except Exception as error:
        logger.warning("health: broker unreachable: %s", error)
        return Check(False, type(error).__name__)
    return Check(True, str(transport))


def check_heartbeat() -> tuple[Check, float | None]:
    age = heartbeat_age_seconds()
    if age is None:
        return Check(False, "no heartbeat recorded yet: are the Celery worker and beat running?"), None
    if age > settings.HEARTBEAT_STALE_SECONDS:
        return Check(
            False, f"last heartbeat {age:.0f} s ago (stale after {settings.HEARTBEAT_STALE_SECONDS} s)"
        ), age
    return Check(True, f"last heartbeat {age:.0f} s ago"), age


def process_is_starting(*, now: float | None = None) -> bool:
    return (time.time() if now is None else now) - PROCESS_STARTED_AT < settings.HEARTBEAT_STALE_SECONDS
