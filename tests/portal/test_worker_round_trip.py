import subprocess
import sys

import pytest
from celery.result import EagerResult
from django.core.cache import cache
from django.db import connection

from portal.lib.health import HEARTBEAT_CACHE_KEY, heartbeat_age_seconds
from portal.tasks import heartbeat
from tests.fixtures.services import wait_for

pytestmark = pytest.mark.integration


def test_a_task_goes_through_redis_to_a_real_worker_and_back(celery_worker):
    assert cache.get(HEARTBEAT_CACHE_KEY) is None

    result = heartbeat.delay()

    # Not run here: the worker process picked it up from Redis and wrote to the shared cache.
    assert not isinstance(result, EagerResult)
    wait_for(lambda: cache.get(HEARTBEAT_CACHE_KEY), timeout=20, what="the worker's heartbeat")
    assert heartbeat_age_seconds() < 20
    assert f"Task portal.tasks.heartbeat[{result.id}] received" in celery_worker.log()


def test_the_worker_comes_back_after_a_kill_minus_nine(celery_worker):
    first_pid = celery_worker.pid

    celery_worker.kill()
    assert not celery_worker.is_alive()
    celery_worker.start()

    assert celery_worker.pid != first_pid
    heartbeat.delay()
    wait_for(lambda: cache.get(HEARTBEAT_CACHE_KEY), timeout=20, what="a heartbeat after the restart")


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


def test_eager_mode_is_back_for_the_tests_after_a_real_worker():
    # Runs after the worker tests above (file order): the rest of the suite relies on eager tasks.
    from portal.celery import app

    assert app.conf.task_always_eager is True
