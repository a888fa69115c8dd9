from celery import shared_task
from django.conf import settings

from portal.lib.health import heartbeat_record


@shared_task(bind=True, ignore_result=True)
def heartbeat(self, queue: str = settings.CELERY_TASK_DEFAULT_QUEUE) -> None:
    # Run by beat and executed by a worker: a fresh value proves both are alive, and that the queue
    # it came through is consumed (beat sends one to each of settings.HEARTBEAT_QUEUES). Recorded
    # under the queue it was delivered from, whatever it was sent as.
    delivered_from = (self.request.delivery_info or {}).get("routing_key")
    heartbeat_record(queue=delivered_from or queue)
