import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.db import OperationalError

from portal.celery import app as celery_app
from portal.lib import health
from portal.tasks import heartbeat

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


def beat_every_queue() -> None:
    """What beat sends every 30 s: a heartbeat to each queue of the worker layout."""
    for queue in settings.HEARTBEAT_QUEUES:
        heartbeat.delay(queue)


@pytest.fixture
def unreachable_broker():
    original = celery_app.conf.broker_url
    # Port 1 on loopback refuses at once: a broker that is down, without waiting on a timeout.
    celery_app.conf.broker_url = "redis://127.0.0.1:1/0"
    yield
    celery_app.conf.broker_url = original


def test_it_is_200_with_every_part_reported_when_all_is_well(client):
    with time_machine.travel(NOON, tick=False):
        beat_every_queue()
    with time_machine.travel(NOON + dt.timedelta(seconds=30), tick=False):
        response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is True
    assert body["heartbeat"] == {"ok": True, "age_seconds": 30.0, "detail": "last heartbeat 30 s ago"}
    assert body["queues"] == {
        queue: {"ok": True, "age_seconds": 30.0, "detail": "last heartbeat 30 s ago"}
        for queue in ("celery", "renewals")
    }


def test_it_is_503_when_the_database_cannot_be_queried(client, monkeypatch):
    beat_every_queue()

    def broken_cursor(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(health.connection, "cursor", broken_cursor)
    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["database"] == {"ok": False, "detail": "OperationalError"}
    assert body["broker"]["ok"] is True


def test_it_is_503_when_the_broker_is_unreachable(client, unreachable_broker):
    beat_every_queue()

    started = dt.datetime.now()
    response = client.get("/healthz")
    elapsed = dt.datetime.now() - started

    assert response.status_code == 503
    assert response.json()["broker"]["ok"] is False
    assert response.json()["database"]["ok"] is True
    assert elapsed < dt.timedelta(seconds=5)


def test_it_is_503_when_the_filesystem_broker_folder_is_gone(client, tmp_path):
    beat_every_queue()
    original = celery_app.conf.broker_url, celery_app.conf.broker_transport_options
    missing = str(tmp_path / "no-such-folder")
    celery_app.conf.broker_url = "filesystem://"
    celery_app.conf.broker_transport_options = {"data_folder_in": missing, "data_folder_out": missing}
    try:
        response = client.get("/healthz")
    finally:
        celery_app.conf.broker_url, celery_app.conf.broker_transport_options = original

    assert response.status_code == 503
    assert response.json()["broker"] == {"ok": False, "detail": "OSError"}


def test_it_is_503_when_the_last_heartbeat_is_older_than_the_stale_limit(client, settings):
    settings.HEARTBEAT_STALE_SECONDS = 120
    with time_machine.travel(NOON, tick=False):
        beat_every_queue()
    with time_machine.travel(NOON + dt.timedelta(seconds=121), tick=False):
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["heartbeat"]["ok"] is False
    assert response.json()["heartbeat"]["age_seconds"] == 121.0


def test_it_is_still_200_just_inside_the_stale_limit(client, settings):
    settings.HEARTBEAT_STALE_SECONDS = 120
    with time_machine.travel(NOON, tick=False):
        beat_every_queue()
    with time_machine.travel(NOON + dt.timedelta(seconds=120), tick=False):
        response = client.get("/healthz")

    assert response.status_code == 200


def test_it_is_503_when_no_heartbeat_was_ever_recorded(client):
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["heartbeat"]["ok"] is False
    assert response.json()["heartbeat"]["age_seconds"] is None
    assert "a Celery worker consuming the renewals queue" in response.json()["heartbeat"]["detail"]
    assert response.json()["queues"]["celery"]["age_seconds"] is None


def test_right_after_a_start_a_missing_heartbeat_is_starting_and_logged_as_a_warning(
    client, caplog, monkeypatch
):
    monkeypatch.setattr(health, "PROCESS_STARTED_AT", health.time.time())  # the web process just started

    with caplog.at_level("INFO"):
        response = client.get("/healthz")

    assert response.status_code == 503  # not ready for traffic yet
    assert response.json()["status"] == "starting"
    logged = [(record.levelname, record.getMessage()) for record in caplog.records]
    assert [level for level, _ in logged] == ["WARNING"]
    assert logged[0][1].startswith("health: starting, waiting for the first heartbeat")


def test_a_heartbeat_still_missing_after_the_start_is_down_and_an_error(
    client, caplog, settings, monkeypatch
):
    settings.HEARTBEAT_STALE_SECONDS = 120
    monkeypatch.setattr(health, "PROCESS_STARTED_AT", health.time.time() - 121)

    with caplog.at_level("INFO"):
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["status"] == "down"
    assert [(record.name, record.levelname) for record in caplog.records] == [("django.request", "ERROR")]


def test_the_heartbeat_goes_to_the_renewals_queue_as_well_as_the_default_one():
    sent = {entry["options"]["queue"]: entry["args"] for entry in celery_app.conf.beat_schedule.values()
            if entry["task"] == "portal.tasks.heartbeat"}  # fmt: skip

    assert sent == {"celery": ["celery"], "renewals": ["renewals"]}


def test_a_stale_renewals_heartbeat_is_503_naming_the_renewals_queue(client, settings, monkeypatch):
    """The renewals worker is dead while the general worker answers the default queue's heartbeat:
    a traveller's paid renewal would sit in its queue, so the portal is not healthy."""
    settings.HEARTBEAT_STALE_SECONDS = 120
    monkeypatch.setattr(health, "PROCESS_STARTED_AT", NOON.timestamp() - 3600)  # long started
    with time_machine.travel(NOON, tick=False):
        heartbeat.delay("renewals")
    with time_machine.travel(NOON + dt.timedelta(seconds=110), tick=False):
        heartbeat.delay("celery")
    with time_machine.travel(NOON + dt.timedelta(seconds=121), tick=False):
        response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["queues"]["celery"] == {"ok": True, "age_seconds": 11.0, "detail": "last heartbeat 11 s ago"}
    assert body["queues"]["renewals"] == {
        "ok": False,
        "age_seconds": 121.0,
        "detail": "last heartbeat 121 s ago (stale after 120 s)",
    }
    assert body["heartbeat"]["ok"] is False
    assert body["heartbeat"]["age_seconds"] == 121.0
    assert body["heartbeat"]["detail"] == "renewals queue: last heartbeat 121 s ago (stale after 120 s)"


def test_a_renewals_queue_never_heard_from_is_503_naming_it(client):
    beat_every_queue()
    from django.core.cache import cache

    cache.delete(health.heartbeat_cache_key("renewals"))

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["queues"]["celery"]["ok"] is True
    assert body["queues"]["renewals"]["ok"] is False
    assert body["queues"]["renewals"]["age_seconds"] is None
    assert body["heartbeat"]["detail"].startswith("renewals queue: no heartbeat recorded yet")


def test_right_after_a_start_a_missing_renewals_heartbeat_is_starting(client, monkeypatch):
    heartbeat.delay("celery")
    monkeypatch.setattr(health, "PROCESS_STARTED_AT", health.time.time())

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["status"] == "starting"


def test_a_heartbeat_is_recorded_under_the_queue_it_was_delivered_from():
    heartbeat.apply(args=["celery"], routing_key="renewals")

    assert health.heartbeat_age_seconds(queue="renewals") is not None
    assert health.heartbeat_age_seconds(queue="celery") is None
