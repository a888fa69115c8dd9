"""Which queue each task goes to, and that the documented worker layout consumes every one of them.

A renewal must never wait behind a notice, a carrier call, an export or a periodic job: it has a
queue of its own with a worker of its own (Procfile `renewals`); the general worker takes every
queue, renewals first. A task routed to a queue no worker consumes would wait for ever.
"""

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from portal.celery import app
from tests.fixtures.services import procfile_worker_queues

ROOT = Path(__file__).resolve().parents[2]

RENEWAL_TASKS = {
    # Fulfilment of a paid order (queued by the payment, the success page and the reconciler).
    "billing.tasks.order_fulfil_task",
    # The Stripe event that records the payment and renews in the same task (billing.webhooks).
    "billing.tasks.webhook_event_process_task",
}


def queue_of(task_name: str) -> str:
    return app.amqp.router.route({}, task_name)["queue"].name


def registered_tasks() -> list[str]:
    app.loader.import_default_modules()
    return sorted(name for name in app.tasks if not name.startswith("celery."))


def test_a_renewal_and_the_stripe_event_carrying_it_go_to_the_renewals_queue():
    assert {name: queue_of(name) for name in RENEWAL_TASKS} == dict.fromkeys(RENEWAL_TASKS, "renewals")


def test_nothing_but_renewals_goes_to_the_renewals_queue():
    others = [name for name in registered_tasks() if name not in RENEWAL_TASKS]

    assert others
    assert [name for name in others if queue_of(name) == "renewals"] == []


def test_notices_provisioning_and_exports_each_have_a_queue_of_their_own():
    assert queue_of("notices.tasks.notification_deliver") == "notices"
    assert queue_of("usage.tasks.provisioning_event_send") == "provisioning"
    assert queue_of("support.tasks.export_job_run") == "exports"


def test_no_periodic_job_goes_to_the_renewals_queue():
    periodic = {entry["task"] for entry in app.conf.beat_schedule.values()}

    assert periodic
    assert {name: queue_of(name) for name in periodic} == dict.fromkeys(periodic, "celery")


def test_every_task_goes_to_a_declared_queue():
    declared = {queue.name for queue in settings.CELERY_TASK_QUEUES}

    assert {name: queue_of(name) for name in registered_tasks() if queue_of(name) not in declared} == {}


def test_each_queue_has_an_exchange_and_key_of_its_own():
    # Queues sharing Celery's default exchange and key would each get a copy of every message.
    queues = settings.CELERY_TASK_QUEUES

    assert [(queue.exchange.name, queue.routing_key) for queue in queues] == [
        (queue.name, queue.name) for queue in queues
    ]


def test_the_procfile_consumes_every_queue_a_task_can_be_sent_to():
    consumed = {queue for queues in procfile_worker_queues().values() for queue in queues}
    routed = {queue_of(name) for name in registered_tasks()}

    assert routed - consumed == set()
    assert {queue.name for queue in settings.CELERY_TASK_QUEUES} - consumed == set()


def test_the_procfile_runs_a_worker_for_renewals_alone_and_a_general_one_renewals_first():
    workers = procfile_worker_queues()

    assert workers["renewals"] == ["renewals"]
    # The general worker helps with renewals when it has a free process, and takes them first.
    assert workers["worker"] == [queue.name for queue in settings.CELERY_TASK_QUEUES]
    assert workers["worker"][0] == "renewals"


def procfile_commands() -> dict[str, list[str]]:
    return {
        name.strip(): shlex.split(command)
        for name, _, command in (line.partition(":") for line in (ROOT / "Procfile").read_text().splitlines())
    }


def test_each_procfile_worker_has_a_node_name_of_its_own():
    names = []
    for name in procfile_worker_queues():
        words = procfile_commands()[name]
        celery = words[words.index("celery") :]
        names.append(celery[celery.index("-n") + 1])

    assert len(names) == len(set(names)) == len(procfile_worker_queues())


def test_the_general_worker_yields_the_cpu_to_web_and_renewals():
    # Rendering a burst of confirmations must not starve the renewals of CPU (bench/README.md).
    commands = procfile_commands()

    assert commands["worker"][:3] == ["nice", "-n", "10"]
    assert commands["renewals"][0] == "celery" and commands["web"][0] == "gunicorn"


@pytest.mark.parametrize(
    ("redis_url", "expected"),
    [("redis://127.0.0.1:6379/0", "priority"), ("", None)],
    ids=["redis", "filesystem"],
)
def test_on_redis_a_worker_drains_its_queues_in_order_not_round_robin(redis_url, expected):
    # Settings read the environment once, at import: ask a fresh interpreter.
    code = (
        "import json, portal.settings as s;"
        "print(json.dumps(s.CELERY_BROKER_TRANSPORT_OPTIONS.get('queue_order_strategy')))"
    )
    env = {**os.environ, "DEBUG": "1", "REDIS_URL": redis_url, "PYTHONPATH": str(ROOT)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    output = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout

    assert json.loads(output) == expected
