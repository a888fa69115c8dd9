from celery import shared_task
from django.utils import timezone

from support import finance


# A million rows take minutes, far over the default limits for short tasks.
@shared_task(soft_time_limit=3600, time_limit=3660, acks_late=True)
def export_job_run(job_id: int) -> None:
    finance.export_job_run(job_id=job_id)


@shared_task
def export_jobs_purge() -> None:
    finance.export_jobs_purge(now=timezone.now())


@shared_task
def export_jobs_resume() -> None:
    finance.export_jobs_resume(now=timezone.now())
