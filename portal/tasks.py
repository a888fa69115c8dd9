from celery import shared_task

from portal.lib.health import heartbeat_record


@shared_task(ignore_result=True)
def heartbeat() -> None:
    # Run by beat and executed by a worker: a fresh value proves both are alive.
    heartbeat_record()
