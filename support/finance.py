"""Finance exports as background jobs: write the file, report progress, keep it for a while."""

import secrets
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from billing.exports import ExportFilter, orders_in_range, write_export
from support.models import ExportJob

PROGRESS_EVERY = 5000


def exports_dir() -> Path:
    path = Path(settings.EXPORTS_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def export_keep_for() -> timedelta:
    return timedelta(hours=getattr(settings, "EXPORT_KEEP_HOURS", 24))


def export_job_create(*, user, export_filter: ExportFilter, file_format: str) -> ExportJob:
    from support.tasks import export_job_run

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
    claimed = ExportJob.objects.filter(pk=job_id, status=ExportJob.Status.QUEUED).update(
        status=ExportJob.Status.RUNNING
    )
    job = ExportJob.objects.get(pk=job_id)
    if not claimed:
        return job
    # Unguessable file name: the download view checks the owner too, this keeps the folder safe.
    file_name = f"orders-{job.pk}-{secrets.token_hex(8)}.{job.file_format}"
    path = exports_dir() / file_name

    def progress(done: int) -> None:
        ExportJob.objects.filter(pk=job_id).update(rows_done=done)

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
        file_name=file_name,
        finished_at=timezone.now(),
        rows_done=F("rows_done"),
    )
    job.refresh_from_db()
    return job


def export_jobs_purge(*, now) -> int:
    """Delete files and records of exports past their download window."""
    expired = ExportJob.objects.filter(expires_at__lte=now)
    for file_name in expired.exclude(file_name="").values_list("file_name", flat=True):
        (exports_dir() / file_name).unlink(missing_ok=True)
    deleted, _ = expired.delete()
    return deleted
