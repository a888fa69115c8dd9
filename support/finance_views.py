"""Finance pages: order export (streamed or as a background job) and the revenue report."""

import io
from datetime import date, timedelta
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from billing.exports import (
    MONACO,
    ExportFilter,
    RevenueLine,
    csv_chunks,
    orders_in_range,
    revenue_report,
    write_xlsx,
)
from billing.invoice_register import (
    invoiced_orders_gross,
    register_csv,
    register_series,
    register_totals,
    register_xlsx,
)
from billing.models import Order
from billing.selectors import PAID_STATUSES
from portal.lib.display import format_money
from support import finance
from support.models import ExportJob

# A sheet holds 1,048,576 rows, one of which is the header.
XLSX_MAX_ROWS = 1_048_575
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def finance_required(permission: str):
    def decorate(view):
        return staff_member_required(permission_required(permission, raise_exception=True)(view))

    return decorate


# Dates outside these overflow the day arithmetic (end + 1 day, Monaco midnight): refuse them clearly.
EARLIEST_DAY, LATEST_DAY = date(2000, 1, 1), date(2999, 12, 31)


def _clean_date_range(cleaned: dict) -> None:
    for name in ("start", "end"):
        day = cleaned.get(name)
        if day and not EARLIEST_DAY <= day <= LATEST_DAY:
            raise forms.ValidationError(
                _("Choose days between %(earliest)s and %(latest)s.")
                % {"earliest": EARLIEST_DAY.isoformat(), "latest": LATEST_DAY.isoformat()}
            )


class ExportForm(forms.Form):
    start = forms.DateField(
        label=_("From (Monaco day)"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end = forms.DateField(
        label=_("To (Monaco day, included)"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    statuses = forms.MultipleChoiceField(
        label=_("Status"),
        choices=Order.Status.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every status."),
    )
    file_format = forms.ChoiceField(
        label=_("Format"), choices=[("csv", "CSV"), ("xlsx", "XLSX")], initial="csv"
    )

    def clean(self):
        cleaned = super().clean()
        _clean_date_range(cleaned)
        if cleaned.get("start") and cleaned.get("end") and cleaned["start"] > cleaned["end"]:
            raise forms.ValidationError(_("The first day must not be after the last."))
        return cleaned

    def export_filter(self) -> ExportFilter:
        data = self.cleaned_data
        return ExportFilter(data["start"], data["end"], tuple(data["statuses"]))


def _file_name(export_filter: ExportFilter, file_format: str) -> str:
    return f"orders-{export_filter.start.isoformat()}-{export_filter.end.isoformat()}.{file_format}"


def _stream_limit(file_format: str) -> int:
    if file_format == "xlsx":
        return getattr(settings, "EXPORT_XLSX_STREAM_MAX_ROWS", 20_000)
    return getattr(settings, "EXPORT_CSV_STREAM_MAX_ROWS", 200_000)


def default_range() -> tuple[date, date]:
    """The last 30 Monaco days, today included: what the revenue and export pages open with."""
    today = timezone.now().astimezone(MONACO).date()
    return today - timedelta(days=29), today


@finance_required("support.finance_export")
@require_http_methods(["GET", "POST"])
def export(request: HttpRequest) -> HttpResponse:
    start, end = default_range()
    form = ExportForm(request.POST or None, initial={"start": start, "end": end, "file_format": "csv"})
    if request.method == "POST" and form.is_valid():
        export_filter = form.export_filter()
        file_format = form.cleaned_data["file_format"]
        count = orders_in_range(export_filter).count()
        if file_format == "xlsx" and count > XLSX_MAX_ROWS:
            form.add_error(
                "file_format",
                _("%(count)s orders do not fit in one XLSX sheet (at most %(max)s rows): choose CSV.")
                % {"count": count, "max": XLSX_MAX_ROWS},
            )
            context = {**admin.site.each_context(request), "form": form, "job": None, "recent_jobs": []}
            return render(request, "finance/export.html", context)
        if count > _stream_limit(file_format):
            finance.export_jobs_purge(now=timezone.now())
            job = finance.export_job_create(
                user=request.user, export_filter=export_filter, file_format=file_format
            )
            return redirect(f"{reverse('support:finance_export')}?job={job.pk}")
        name = _file_name(export_filter, file_format)
        if file_format == "csv":
            response = StreamingHttpResponse(csv_chunks(export_filter), content_type=CONTENT_TYPES["csv"])
        else:
            # openpyxl writes a zip with its directory at the end: it needs a (temporary) file.
            import tempfile

            handle = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it)
            write_xlsx(export_filter, handle)
            handle.seek(0)
            response = FileResponse(handle, content_type=CONTENT_TYPES["xlsx"])
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    job = None
    if job_id := request.GET.get("job", ""):
        job = get_object_or_404(ExportJob, pk=job_id if job_id.isdigit() else 0, user=request.user)
    recent = ExportJob.objects.filter(user=request.user, expires_at__gt=timezone.now())[:10]
    context = {**admin.site.each_context(request), "form": form, "job": job, "recent_jobs": recent}
    return render(request, "finance/export.html", context)


def _job_for_user_or_404(request: HttpRequest, job_id: int) -> ExportJob:
    return get_object_or_404(ExportJob, pk=job_id, user=request.user)


@finance_required("support.finance_export")
@require_GET
def export_status(request: HttpRequest, job_id: int) -> JsonResponse:
    job = _job_for_user_or_404(request, job_id)
    expired = job.expires_at <= timezone.now()
    return JsonResponse(
        {
            "status": job.status,
            "status_label": str(job.get_status_display()),
            "rows_done": job.rows_done,
            "rows_total": job.rows_total,
            "download_url": reverse("support:finance_export_download", args=[job.pk])
            if job.status == ExportJob.Status.DONE and not expired
            else None,
            "error": finance.export_job_error(job),
        }
    )


@finance_required("support.finance_export")
@require_GET
def export_download(request: HttpRequest, job_id: int) -> FileResponse:
    job = _job_for_user_or_404(request, job_id)
    if job.status != ExportJob.Status.DONE or job.expires_at <= timezone.now():
        raise Http404("This export is not available (any more).")
    path = finance.exports_dir() / job.file_name
    if not path.is_file():
        raise Http404("This export is not available (any more).")
    export_filter = ExportFilter.from_json(job.params)
    return FileResponse(
        Path(path).open("rb"),
        as_attachment=True,
        filename=_file_name(export_filter, job.file_format),
        content_type=CONTENT_TYPES[job.file_format],
    )


class RevenueForm(forms.Form):
    start = forms.DateField(
        label=_("From (Monaco day)"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end = forms.DateField(
        label=_("To (Monaco day, included)"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def clean(self):
        cleaned = super().clean()
        _clean_date_range(cleaned)
        return cleaned


CHART_WIDTH, CHART_HEIGHT, CHART_PADDING = 720, 220, 30
REVENUE_LINES_PER_PAGE = 250
# Most day labels the axis holds without overlapping ("30/11" at font size 10 is about 28 units).
CHART_MAX_LABELS = 16


def revenue_chart(days: list) -> dict:
    """Bars per day (gross, and refunds over them) as SVG coordinates; the template draws them.

    The axis runs from CHART_PADDING to CHART_WIDTH - CHART_PADDING and every bar sits inside it;
    a label is centred under its bar, and the last day always has one, so the last bar never stands
    past the last date (labels are counted back from it, every `step` days).
    """
    if not days:
        return {"bars": [], "width": CHART_WIDTH, "height": CHART_HEIGHT}
    top = max(max(line.gross for line in days), 1)
    axis_start, axis_end = CHART_PADDING, CHART_WIDTH - CHART_PADDING
    slot = (axis_end - axis_start) / len(days)
    usable = CHART_HEIGHT - 2 * CHART_PADDING
    step = -(-len(days) // CHART_MAX_LABELS)  # ceiling: at most CHART_MAX_LABELS labels
    last = len(days) - 1
    bars = []
    for index, line in enumerate(days):
        height = round(line.gross / top * usable, 1)
        refund_height = round(min(line.refunds, line.gross) / top * usable, 1)
        x = round(axis_start + index * slot + slot * 0.1, 1)
        bars.append(
            {
                "x": x,
                "width": round(slot * 0.8, 1),
                "y": round(CHART_HEIGHT - CHART_PADDING - height, 1),
                "height": height,
                "refund_y": round(CHART_HEIGHT - CHART_PADDING - refund_height, 1),
                "refund_height": refund_height,
                "label_x": round(axis_start + (index + 0.5) * slot, 1),
                "label": line.day.strftime("%d/%m") if line.day else "",
                "title": f"{line.day:%Y-%m-%d}: {format_money(line.gross, line.currency)}"
                if line.day
                else "",
                "show_label": (last - index) % step == 0,
            }
        )
    return {
        "bars": bars,
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "axis_start": axis_start,
        "axis_end": axis_end,
        "baseline": CHART_HEIGHT - CHART_PADDING,
        "top_label": format_money(top, days[0].currency),
        "label_y": CHART_HEIGHT - CHART_PADDING + 16,
    }


def _every_day(days: list, start: date, end: date) -> list:
    """The chart shows quiet days as empty bars rather than leaving them out (up to a year)."""
    if not days or (end - start).days > 370:
        return days
    by_day = {line.day: line for line in days}
    currency = days[0].currency
    span = range((end - start).days + 1)
    return [
        by_day.get(start + timedelta(days=offset))
        or RevenueLine(day=start + timedelta(days=offset), plan="", method="", currency=currency)
        for offset in span
    ]


@finance_required("support.finance_revenue")
@require_GET
def revenue(request: HttpRequest) -> HttpResponse:
    default_start, default_end = default_range()
    form = RevenueForm(request.GET or {"start": default_start, "end": default_end})
    report = None
    context = {**admin.site.each_context(request), "form": form}
    if form.is_valid():
        start: date = form.cleaned_data["start"]
        end: date = form.cleaned_data["end"]
        report = revenue_report(start=start, end=end)
        days = sorted(report.total(lambda line: line.day), key=lambda line: line.day)
        chart_days = _every_day(days, start, end)
        # A year is some 4,000 lines of day x plan x method: shown a page at a time.
        lines = Paginator(report.lines, REVENUE_LINES_PER_PAGE).get_page(request.GET.get("page"))
        context.update(
            {
                "report": report,
                "lines": lines,
                "range_query": urlencode({"start": start.isoformat(), "end": end.isoformat()}),
                "start": start,
                "end": end,
                "by_day": days,
                "by_plan": sorted(report.total(lambda line: line.plan), key=lambda line: line.label),
                "by_method": sorted(
                    report.total(lambda line: line.method or "—"), key=lambda line: line.label
                ),
                "totals": report.total(),
                "chart": revenue_chart(chart_days),
                "revenue_statuses": [Order.Status(status).label for status in PAID_STATUSES],
                "register_totals": register_totals(start=start, end=end),
                "register_series": register_series(start=start, end=end),
                "invoiced_orders": invoiced_orders_gross(start=start, end=end),
            }
        )
    return render(request, "finance/revenue.html", context)


class InvoiceRegisterForm(RevenueForm):
    format = forms.ChoiceField(choices=[("csv", "CSV"), ("xlsx", "XLSX")], required=False)


@finance_required("support.finance_export")
@require_GET
def invoice_register(request: HttpRequest) -> HttpResponse:
    """Every invoice and credit note issued in the Monaco days asked for, then totals per VAT rate."""
    form = InvoiceRegisterForm(request.GET)
    if not form.is_valid():
        return redirect(f"{reverse('support:finance_revenue')}?{request.GET.urlencode()}")
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    file_format = form.cleaned_data.get("format") or "csv"
    file_name = f"invoice-register-{start.isoformat()}-{end.isoformat()}.{file_format}"
    if file_format == "xlsx":
        buffer = io.BytesIO()
        register_xlsx(start=start, end=end, target=buffer)
        response: HttpResponse = HttpResponse(buffer.getvalue(), content_type=CONTENT_TYPES["xlsx"])
    else:
        response = StreamingHttpResponse(
            register_csv(start=start, end=end), content_type=CONTENT_TYPES["csv"]
        )
    response["Content-Disposition"] = f'attachment; filename="{file_name}"'
    response["Cache-Control"] = "private, no-store"
    return response
