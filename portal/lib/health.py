"""What /healthz reports: can we reach the database and the broker, and is beat ticking and every
queue of the documented worker layout consumed (settings.HEARTBEAT_QUEUES)?"""

import logging
import os
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from portal.celery import app

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 2
# When this process started: a heartbeat missing (or left stale by the last run) in its first
# HEARTBEAT_STALE_SECONDS is the worker and beat starting alongside it, not an outage.
PROCESS_STARTED_AT = time.time()


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str


def heartbeat_cache_key(queue: str) -> str:
    return f"portal:heartbeat:{queue}"


def heartbeat_record(*, queue: str, at: float | None = None) -> None:
    # No expiry: an old heartbeat must stay visible as "stale", not vanish as "missing".
    cache.set(heartbeat_cache_key(queue), time.time() if at is None else at, timeout=None)


def heartbeat_ages_seconds(*, now: float | None = None) -> dict[str, float | None]:
    """Seconds since each queue's last heartbeat (None: never), in settings.HEARTBEAT_QUEUES order."""
    now = time.time() if now is None else now
    beats = cache.get_many([heartbeat_cache_key(queue) for queue in settings.HEARTBEAT_QUEUES])
    ages: dict[str, float | None] = {}
    for queue in settings.HEARTBEAT_QUEUES:
        beat = beats.get(heartbeat_cache_key(queue))
        ages[queue] = None if beat is None else max(0.0, now - float(beat))
    return ages


def heartbeat_age_seconds(*, queue: str, now: float | None = None) -> float | None:
    beat = cache.get(heartbeat_cache_key(queue))
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


def _check_age(queue: str, age: float | None) -> Check:
    if age is None:
        return Check(
            False,
            f"no heartbeat recorded yet: are beat and a Celery worker consuming the {queue} queue running?",
        )
    if age > settings.HEARTBEAT_STALE_SECONDS:
        return Check(
            False, f"last heartbeat {age:.0f} s ago (stale after {settings.HEARTBEAT_STALE_SECONDS} s)"
        )
    return Check(True, f"last heartbeat {age:.0f} s ago")


def check_heartbeats() -> dict[str, tuple[Check, float | None]]:
    """Each queue's heartbeat: sent by beat to that queue, recorded by the worker that took it."""
    return {queue: (_check_age(queue, age), age) for queue, age in heartbeat_ages_seconds().items()}


def check_heartbeat(
    queues: dict[str, tuple[Check, float | None]] | None = None,
) -> tuple[Check, float | None]:
    """All the queues' heartbeats in one: fresh only if every one is, its age the oldest; a failing
    one is named in the detail."""
    queues = check_heartbeats() if queues is None else queues
    failing = [f"{queue} queue: {check.detail}" for queue, (check, _age) in queues.items() if not check.ok]
    ages = [age for _check, age in queues.values()]
    oldest = None if not ages or None in ages else max(age for age in ages if age is not None)
    if failing:
        return Check(False, "; ".join(failing)), oldest
    return Check(True, f"last heartbeat {oldest or 0:.0f} s ago"), oldest


def process_is_starting(*, now: float | None = None) -> bool:
    return (time.time() if now is None else now) - PROCESS_STARTED_AT < settings.HEARTBEAT_STALE_SECONDS
