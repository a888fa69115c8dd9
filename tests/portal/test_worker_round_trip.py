import subprocess
import sys

import pytest
from celery.result import EagerResult
from django.core.cache import cache
from django.db import connection

from portal.lib import health
from portal.lib.health import heartbeat_age_seconds, heartbeat_cache_key
from portal.tasks import heartbeat
from tests.fixtures.services import procfile_worker_queues, wait_for

pytestmark = pytest.mark.integration


def test_a_task_goes_through_redis_to_a_real_worker_and_back(celery_worker):
    assert cache.get(heartbeat_cache_key("celery")) is None

    result = heartbeat.delay()

    # Not run here: the worker process picked it up from Redis and wrote to the shared cache.
    assert not isinstance(result, EagerResult)
    wait_for(lambda: cache.get(heartbeat_cache_key("celery")), timeout=20, what="the worker's heartbeat")
    assert heartbeat_age_seconds(queue="celery") < 20
    assert f"Task portal.tasks.heartbeat[{result.id}] received" in celery_worker.log()


def test_the_worker_comes_back_after_a_kill_minus_nine(celery_worker):
    first_pid = celery_worker.pid

    celery_worker.kill()
    assert not celery_worker.is_alive()
    celery_worker.start()

    assert celery_worker.pid != first_pid
    heartbeat.delay()
    wait_for(
        lambda: cache.get(heartbeat_cache_key("celery")), timeout=20, what="a heartbeat after the restart"
    )


@pytest.mark.integration
def test_broker_options_given_to_the_factory_reach_the_worker(celery_worker_factory):
    worker = celery_worker_factory(transport_options={"visibility_timeout": 7}, pool="solo")

    inspect = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; import django; django.setup(); "
         "print(settings.CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout'], settings.DATABASES['default']['NAME'])"],
        env=worker.env, capture_output=True, text=True, check=True,
    )  # fmt: skip

    assert inspect.stdout.split() == ["7", connection.settings_dict["NAME"]]
    assert worker.is_alive()


def beat_sends_the_heartbeats() -> list[str]:
    """What beat sends every 30 s (its schedule's heartbeat entries, each to its queue); the queues."""
    from portal.celery import app

    queues = []
    for entry in app.conf.beat_schedule.values():
        if entry["task"] == "portal.tasks.heartbeat":
            heartbeat.apply_async(args=entry["args"], **entry["options"])
            queues.append(entry["options"]["queue"])
    return queues


def test_healthz_is_green_once_the_procfile_workers_answer_the_heartbeat_of_each_queue(
    client, celery_worker_factory
):
    for queues in procfile_worker_queues().values():  # the renewals worker and the general worker
        celery_worker_factory(queues=queues)

    sent = beat_sends_the_heartbeats()

    assert sorted(sent) == ["celery", "renewals"]
    wait_for(lambda: client.get("/healthz").status_code == 200, timeout=30, what="/healthz green")
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert {queue: answer["ok"] for queue, answer in body["queues"].items()} == {
        "celery": True,
        "renewals": True,
    }


def test_with_only_the_renewals_worker_up_healthz_names_the_queue_nobody_consumes(
    client, celery_worker_factory, monkeypatch
):
    celery_worker_factory(queues=procfile_worker_queues()["renewals"])
    monkeypatch.setattr(health, "PROCESS_STARTED_AT", health.time.time() - 3600)  # long started

    beat_sends_the_heartbeats()
    wait_for(
        lambda: heartbeat_age_seconds(queue="renewals") is not None, timeout=20, what="renewals heartbeat"
    )
    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["queues"]["renewals"]["ok"] is True
    assert body["queues"]["celery"]["ok"] is False
    assert body["heartbeat"]["detail"].startswith("celery queue: no heartbeat recorded yet")


def test_eager_mode_is_back_for_the_tests_after_a_real_worker():
    # Runs after the worker tests above (file order): the rest of the suite relies on eager tasks.
    from portal.celery import app

    assert app.conf.task_always_eager is True
