from portal.celery import app


def test_tasks_travel_as_json_only():
    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]


def test_a_task_is_acknowledged_only_after_it_ran_and_requeued_if_its_worker_dies():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_tasks_have_a_soft_limit_before_the_hard_one():
    assert 0 < app.conf.task_soft_time_limit < app.conf.task_time_limit


def test_beat_keeps_its_schedule_in_the_database_and_sends_the_heartbeat():
    assert app.conf.beat_scheduler == "django_celery_beat.schedulers:DatabaseScheduler"
    assert "portal.tasks.heartbeat" in {entry["task"] for entry in app.conf.beat_schedule.values()}


def test_the_heartbeat_task_is_registered_with_the_worker():
    app.loader.import_default_modules()

    assert "portal.tasks.heartbeat" in app.tasks
