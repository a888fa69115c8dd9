from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from support.models import ExportJob
from tests.support.factories import OrderFactory, staff_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def many_orders(db):
    for day in range(1, 13):
        OrderFactory(created_at=datetime(2026, 11, day, 9, 0, tzinfo=UTC))


@pytest.fixture
def small_stream_limit(settings, tmp_path):
    settings.EXPORT_CSV_STREAM_MAX_ROWS = 5
    settings.EXPORTS_DIR = tmp_path / "exports"


def test_a_large_export_runs_in_the_background_with_progress_and_a_private_download(
    finance_client, finance_user, many_orders, small_stream_limit, client
):
    response = finance_client.post(
        reverse("support:finance_export"), {"start": "2026-11-01", "end": "2026-11-30", "file_format": "csv"}
    )
    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"].endswith(f"?job={job.pk}")

    page = finance_client.get(response["Location"]).content.decode()
    assert "export-progress.js" in page
    assert reverse("support:finance_export_status", args=[job.pk]) in page

    status = finance_client.get(reverse("support:finance_export_status", args=[job.pk])).json()
    assert status["status"] == "done"  # eager Celery in tests
    assert (status["rows_done"], status["rows_total"]) == (12, 12)
    download = finance_client.get(status["download_url"])
    assert download.status_code == 200
    content = b"".join(download.streaming_content)
    assert content.startswith(b"\xef\xbb\xbf")
    assert content.count(b"\r\n") == 13

    other_finance = staff_user("finance", email="colleague@example.com")
    client.force_login(other_finance)
    assert client.get(status["download_url"]).status_code == 404
    assert client.get(reverse("support:finance_export_status", args=[job.pk])).status_code == 404


def test_the_download_expires(finance_client, many_orders, small_stream_limit, settings):
    settings.STAFF_SESSION_MAX_AGE = 7 * 24 * 3600  # a staff session ends sooner than a download
    finance_client.post(
        reverse("support:finance_export"), {"start": "2026-11-01", "end": "2026-11-30", "file_format": "csv"}
    )
    job = ExportJob.objects.get()
    url = reverse("support:finance_export_download", args=[job.pk])
    assert finance_client.get(url).status_code == 200
    with time_machine.travel(job.expires_at + timedelta(minutes=1)):
        assert finance_client.get(url).status_code == 404
        status = finance_client.get(reverse("support:finance_export_status", args=[job.pk])).json()
        assert status["download_url"] is None


def test_expired_exports_are_purged_with_their_files(finance_user, many_orders, small_stream_limit):
    from billing.exports import ExportFilter
    from support import finance

    job = finance.export_job_create(
        user=finance_user,
        export_filter=ExportFilter(datetime(2026, 11, 1).date(), datetime(2026, 11, 30).date()),
        file_format="csv",
    )
    job.refresh_from_db()
    path = finance.exports_dir() / job.file_name
    assert path.is_file()
    assert finance.export_jobs_purge(now=job.expires_at + timedelta(seconds=1)) == 1
    assert not path.exists()
    assert not ExportJob.objects.exists()


def _stalled_job(finance_user, *, attempts=1, minutes_silent=6):
    """A job a worker took and then died on: running, no progress for a while."""
    from billing.exports import ExportFilter

    now = datetime.now(UTC)
    return ExportJob.objects.create(
        user=finance_user,
        params=ExportFilter(datetime(2026, 11, 1).date(), datetime(2026, 11, 30).date()).as_json(),
        file_format="csv",
        rows_total=12,
        rows_done=5,
        status=ExportJob.Status.RUNNING,
        attempts=attempts,
        progress_at=now - timedelta(minutes=minutes_silent),
        expires_at=now + timedelta(hours=24),
    )


def test_a_job_whose_worker_died_is_started_again_and_finishes(
    finance_client, finance_user, many_orders, small_stream_limit
):
    from support import finance

    job = _stalled_job(finance_user)
    partial = finance.exports_dir() / f"orders-{job.pk}-dead-attempt.csv"
    partial.write_text("order,amount\n")  # what the dead worker had written
    ExportJob.objects.filter(pk=job.pk).update(file_name=partial.name)
    busy = _stalled_job(finance_user, minutes_silent=1)  # still reporting: left to its worker

    assert finance.export_jobs_resume(now=datetime.now(UTC)) == {"resumed": 1, "given_up": 0}

    job.refresh_from_db()
    busy.refresh_from_db()
    assert (job.status, job.rows_done, job.attempts) == ("done", 12, 2)
    assert (finance.exports_dir() / job.file_name).is_file()
    assert not partial.exists()
    assert busy.status == "running"
    status = finance_client.get(reverse("support:finance_export_status", args=[job.pk])).json()
    assert status["download_url"]


def test_a_redelivered_task_leaves_a_job_that_is_still_progressing_alone(
    finance_user, many_orders, small_stream_limit
):
    from support import finance

    busy = _stalled_job(finance_user, minutes_silent=1)

    finance.export_job_run(job_id=busy.pk)

    busy.refresh_from_db()
    assert (busy.status, busy.rows_done, busy.attempts) == ("running", 5, 1)


def test_a_job_that_keeps_dying_is_given_up_with_a_message_its_requester_can_act_on(
    finance_client, finance_user, many_orders, small_stream_limit
):
    from support import finance

    job = _stalled_job(finance_user, attempts=finance.EXPORT_MAX_ATTEMPTS)

    assert finance.export_jobs_resume(now=datetime.now(UTC)) == {"resumed": 0, "given_up": 1}

    status = finance_client.get(reverse("support:finance_export_status", args=[job.pk])).json()
    assert status["status"] == "failed"
    assert status["error"] == (
        "The export stopped several times before it finished. Please try a shorter date range."
    )
    assert status["download_url"] is None
