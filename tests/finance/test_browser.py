"""Finance pages in Chromium under the real CSP: the export progress bar and the revenue chart."""

from datetime import UTC, datetime, timedelta

import pytest
from allauth.account.models import EmailAddress
from django.utils import timezone

from support.models import ExportJob
from tests.support.factories import OrderFactory, staff_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def finance_page(make_phone_page, login_with_password, live_server):
    user = staff_user("finance", email="finance@example.com")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    page = make_phone_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    login_with_password(page, login=user.email, password="correct horse battery")
    page.user = user
    return page


def test_the_progress_bar_follows_a_background_export_until_the_download_appears(
    finance_page, settings, tmp_path
):
    settings.EXPORTS_DIR = tmp_path
    (tmp_path / "orders-x.csv").write_bytes(b"\xef\xbb\xbfOrder number\r\n")
    job = ExportJob.objects.create(
        user=finance_page.user,
        params={"start": "2026-11-01", "end": "2026-11-30", "statuses": []},
        file_format="csv",
        status="running",
        rows_total=1000,
        rows_done=250,
        expires_at=timezone.now() + timedelta(hours=24),
    )
    errors = []
    finance_page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    finance_page.goto(f"/support/finance/export/?job={job.pk}")
    download = finance_page.locator("[data-export-download]")
    assert download.is_hidden()
    finance_page.wait_for_function("document.querySelector('[data-export-progress]').value === 250")

    ExportJob.objects.filter(pk=job.pk).update(status="done", rows_done=1000, file_name="orders-x.csv")
    download.wait_for(state="visible", timeout=10_000)
    assert finance_page.locator("[data-export-counter]").inner_text() == "1000 / 1000"
    assert not [error for error in errors if "Content Security Policy" in error]


def test_the_revenue_page_draws_its_chart(finance_page, screenshot):
    for day in range(1, 6):
        OrderFactory(created_at=datetime(2026, 11, day, 9, 0, tzinfo=UTC))
    finance_page.goto("/support/finance/revenue/?start=2026-11-01&end=2026-11-10")
    assert finance_page.locator(".revenue-chart svg rect").count() == 10  # one per day, quiet days empty
    assert "99.50" in finance_page.locator("#revenue-totals").inner_text()
    screenshot(finance_page)
