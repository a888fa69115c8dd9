"""Finance exports as background jobs: write the file, report progress, keep it for a while."""

import secrets
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext

from billing.exports import ExportFilter, orders_in_range, write_export
from support.models import ExportJob

PROGRESS_EVERY = 5000
EXPORT_STALLED_AFTER = timedelta(minutes=5)
EXPORT_MAX_ATTEMPTS = 3
EXPORT_ABANDONED = "abandoned"


def exports_dir() -> Path:
    path = Path(settings.EXPORTS_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def export_keep_for() -> timedelta:
    return timedelta(hours=getattr(settings, "EXPORT_KEEP_HOURS", 24))


def export_job_create(*, user, export_filter: ExportFilter, file_format: str) -> ExportJob:
    from support.tasks import export_job_run  # tasks import this module

    now = timezone.now()
    job = ExportJob.objects.create(
        user=user,
        params=export_filter.as_json(),
        file_format=file_format,
        rows_total=orders_in_range(export_filter).count(),
        created_at=now,
        expires_at=now + export_keep_for(),
    )
    transaction.on_commit(lambda: export_job_run.delay(job.pk))
    return job


def export_job_run(*, job_id: int) -> ExportJob:
    """Write the export, unless another worker is on it. Takes over a job whose worker died."""
    now = timezone.now()
    takeover = Q(status=ExportJob.Status.RUNNING, progress_at__lt=now - EXPORT_STALLED_AFTER)
    claimed = (
        ExportJob.objects.filter(Q(status=ExportJob.Status.QUEUED) | takeover, pk=job_id)
        .filter(attempts__lt=EXPORT_MAX_ATTEMPTS)
        .update(status=ExportJob.Status.RUNNING, progress_at=now, rows_done=0, attempts=F("attempts") + 1)
    )
    job = ExportJob.objects.get(pk=job_id)
    if not claimed:
        return job
    if job.file_name:  # the partial file of an attempt whose worker died
        (exports_dir() / job.file_name).unlink(missing_ok=True)
    # Unguessable file name: the download view checks the owner too, this keeps the folder safe.
    # Recorded now, so a later attempt or the purge can remove it if this worker dies.
    file_name = f"orders-{job.pk}-{secrets.token_hex(8)}.{job.file_format}"
    ExportJob.objects.filter(pk=job_id).update(file_name=file_name)
    path = exports_dir() / file_name

    def progress(done: int) -> None:
        ExportJob.objects.filter(pk=job_id).update(rows_done=done, progress_at=timezone.now())

    try:
        write_export(ExportFilter.from_json(job.params), job.file_format, path, progress=progress)
    except Exception as error:
        path.unlink(missing_ok=True)
        ExportJob.objects.filter(pk=job_id).update(
            status=ExportJob.Status.FAILED, error=str(error)[:2000], finished_at=timezone.now()
        )
        raise
    ExportJob.objects.filter(pk=job_id).update(
        status=ExportJob.Status.DONE,
        finished_at=timezone.now(),
        rows_done=F("rows_done"),
    )
    job.refresh_from_db()
    return job


def export_jobs_resume(*, now) -> dict[str, int]:
    """Jobs whose worker died: started again, or given up after EXPORT_MAX_ATTEMPTS tries.

    A worker reports progress every PROGRESS_EVERY rows (a second or two); a running job silent
    for EXPORT_STALLED_AFTER lost its worker. Run by beat; safe to run any time.
    """
    from support.tasks import export_job_run  # tasks import this module

    stalled = ExportJob.objects.filter(
        status=ExportJob.Status.RUNNING, progress_at__lt=now - EXPORT_STALLED_AFTER
    )
    given_up = stalled.filter(attempts__gte=EXPORT_MAX_ATTEMPTS).update(
        status=ExportJob.Status.FAILED, error=EXPORT_ABANDONED, finished_at=now
    )
    resumed = list(stalled.values_list("pk", flat=True))
    for job_id in resumed:
        export_job_run.delay(job_id)
    return {"resumed": len(resumed), "given_up": given_up}


def export_job_error(job: ExportJob) -> str:
    """What the requester reads when a job failed."""
    if job.status != ExportJob.Status.FAILED:
        return ""
    if job.error == EXPORT_ABANDONED:
        return gettext(
            "The export stopped several times before it finished. Please try a shorter date range."
        )
    return job.error


def export_jobs_purge(*, now) -> int:
    """Delete files and records of exports past their download window."""
    expired = ExportJob.objects.filter(expires_at__lte=now)
    for file_name in expired.exclude(file_name="").values_list("file_name", flat=True):
        (exports_dir() / file_name).unlink(missing_ok=True)
    deleted, _ = expired.delete()
    return deleted
