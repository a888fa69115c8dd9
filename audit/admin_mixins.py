"""The staff-admin kit every app's admin uses: every change is audited, staff actions go through a
reasoned confirmation page, and tables of millions of rows are listed and searched through indexes."""

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connections, transaction
from django.db.models import Q
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from audit.services import audit_record, object_snapshot
from portal.lib.search_keys import IDENTIFIER_KINDS, search_keys_parse

AUDIT_REASON_FIELD = "audit_reason"


def _reason_field() -> forms.CharField:
    return forms.CharField(
        label=_("Reason for this change"),
        help_text=_("Recorded in the audit trail with the values before and after."),
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        max_length=2000,
    )


class AuditedAdmin(admin.ModelAdmin):
    """A ModelAdmin whose every add, change and delete is written to the audit trail.

    Changing an existing row asks for a reason, as staff actions do.
    """

    def _asks_for_reason(self, request: HttpRequest, obj) -> bool:
        return obj is not None and self.has_change_permission(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if self._asks_for_reason(request, obj):
            base = kwargs.get("form") or self.form
            kwargs["form"] = type(f"Audited{base.__name__}", (base,), {AUDIT_REASON_FIELD: _reason_field()})
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (name, {**opts, "fields": [field for field in opts["fields"] if field != AUDIT_REASON_FIELD]})
            for name, opts in super().get_fieldsets(request, obj)
        ]
        if self._asks_for_reason(request, obj):
            fieldsets.append((_("Audit"), {"fields": [AUDIT_REASON_FIELD]}))
        return fieldsets

    def save_model(self, request, obj, form, change):
        before = None
        if change:
            stored = type(obj)._default_manager.filter(pk=obj.pk).first()
            before = object_snapshot(stored) if stored is not None else None
        super().save_model(request, obj, form, change)
        after = object_snapshot(obj)
        if before is not None:
            changed = {key for key in after if before.get(key) != after.get(key)}
            before = {key: before[key] for key in changed}
            after = {key: after[key] for key in changed}
        audit_record(
            actor=request.user,
            action="admin_change" if change else "admin_add",
            obj=obj,
            reason=form.cleaned_data.get(AUDIT_REASON_FIELD, ""),
            before=before,
            after={**after, "form_fields_changed": sorted(form.changed_data)},
        )

    def delete_model(self, request, obj):
        audit_record(actor=request.user, action="admin_delete", obj=obj, before=object_snapshot(obj))
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            audit_record(actor=request.user, action="admin_delete", obj=obj, before=object_snapshot(obj))
        super().delete_queryset(request, queryset)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that only their own services write: nobody adds, changes or deletes them through the site."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        help_text=_("Required. Recorded in the audit trail."),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2000,
    )

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("Give a reason."))
        return reason


@dataclass(frozen=True)
class StaffAction:
    """One button on an object's admin page, leading to a confirmation page with a required reason.

    `perform(request, obj, cleaned_data)` calls the owning app's service and the audit trail, and
    returns the message shown after success. It may raise ValueError with a message for the user.
    """

    name: str
    label: str
    permission: str  # "app_label.codename"
    perform: Callable
    form_class: type[forms.Form] = ReasonForm
    description: str = ""
    available: Callable | None = None  # (obj) -> bool: whether the action makes sense right now
    # Also offered on the changelist for the selected rows (one reason for all), e.g. after an outage.
    bulk: bool = False
    # Run inside one transaction. An action that calls an outside service (a Stripe refund) sets
    # False and keeps its own transactions short, so no row stays locked while the service answers.
    atomic: bool = True

    def run(self, request, obj, cleaned_data):
        with transaction.atomic() if self.atomic else contextlib.nullcontext():
            return self.perform(request, obj, cleaned_data)


class StaffActionsAdmin(admin.ModelAdmin):
    staff_actions: tuple[StaffAction, ...] = ()
    change_form_template = "admin/audit/change_form_with_actions.html"

    def get_actions(self, request):
        actions = super().get_actions(request)
        for action in self.staff_actions:
            if action.bulk and request.user.has_perm(action.permission):
                name = f"staff_{action.name.replace('-', '_')}"
                actions[name] = (self._bulk_action(action), name, action.label)
        return actions

    def _bulk_action(self, action: StaffAction):
        def run(model_admin, request, queryset):
            if not request.user.has_perm(action.permission):
                raise PermissionDenied
            form = ReasonForm(request.POST if "apply" in request.POST else None)
            if form.is_valid():
                done, refused = 0, []
                for obj in queryset:
                    if action.available is not None and not action.available(obj):
                        refused.append(f"{obj}: {gettext('not applicable')}")
                        continue
                    try:
                        action.run(request, obj, form.cleaned_data)
                    except (ValueError, PermissionError) as error:
                        refused.append(f"{obj}: {error}")
                    else:
                        done += 1
                self.message_user(
                    request,
                    gettext("%(action)s: done for %(count)d.") % {"action": action.label, "count": done},
                    messages.SUCCESS,
                )
                if refused:
                    self.message_user(request, "; ".join(refused), messages.WARNING)
                return None
            context = {
                **self.admin_site.each_context(request),
                "title": action.label,
                "action": action,
                "action_name": request.POST.get("action", ""),
                "objects": queryset,
                "form": form,
                "opts": self.opts,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/audit/confirm_bulk_action.html", context)

        return run

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        urls = [
            path(
                "<path:object_id>/staff-action/<slug:action_name>/",
                self.admin_site.admin_view(self.staff_action_view),
                name="{}_{}_staff_action".format(*info),
            )
        ]
        return urls + super().get_urls()

    def staff_actions_for(self, request: HttpRequest, obj) -> list[dict]:
        info = self.opts.app_label, self.opts.model_name
        return [
            {
                "label": action.label,
                "url": reverse(
                    "admin:{}_{}_staff_action".format(*info),
                    args=[obj.pk, action.name],
                    current_app=self.admin_site.name,
                ),
            }
            for action in self.staff_actions
            if request.user.has_perm(action.permission)
            and (action.available is None or action.available(obj))
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        obj = self.get_object(request, object_id)
        if obj is not None:
            extra_context["staff_actions"] = self.staff_actions_for(request, obj)
        return super().change_view(request, object_id, form_url, extra_context)

    def staff_action_view(self, request: HttpRequest, object_id: str, action_name: str) -> HttpResponse:
        action = next((a for a in self.staff_actions if a.name == action_name), None)
        if action is None:
            raise PermissionDenied
        if not request.user.has_perm(action.permission) or not self.has_view_permission(request):
            raise PermissionDenied
        obj = self.get_object(request, object_id)
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        change_url = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
            args=[obj.pk],
            current_app=self.admin_site.name,
        )
        if action.available is not None and not action.available(obj):
            # Offered only when it makes sense; the address typed in directly is no way around it.
            self.message_user(
                request, gettext("%(action)s: not applicable") % {"action": action.label}, messages.WARNING
            )
            return HttpResponseRedirect(change_url)
        form = action.form_class(request.POST or None, **self.staff_action_form_kwargs(action, obj))
        if request.method == "POST" and form.is_valid():
            try:
                message = action.run(request, obj, form.cleaned_data)
            except (ValueError, PermissionError) as error:
                form.add_error(None, str(error))
            else:
                self.message_user(request, message, messages.SUCCESS)
                return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": action.label,
            "subtitle": str(obj),
            "action": action,
            "object": obj,
            "form": form,
            "opts": self.opts,
            "change_url": change_url,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/audit/confirm_action.html", context)

    def staff_action_form_kwargs(self, action: StaffAction, obj) -> dict:
        return {}


# A text search that matches up to this many rows reads their ids once, then pages through them.
TEXT_MATCHES_READ = 1_000
# Below this many rows a list shows its exact count; above, PostgreSQL's estimate ("about").
EXACT_COUNT_LIMIT = 10_000


class EstimatedCountPaginator(Paginator):
    """Counts that never scan a big table: an unfiltered list of millions of rows takes the table's
    size from PostgreSQL's statistics (pg_class.reltuples, kept by autovacuum); a filtered one is
    counted exactly up to EXACT_COUNT_LIMIT rows, and beyond that takes the planner's estimate.
    Other databases (SQLite in development) count exactly."""

    count_is_estimate = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        connection = connections[queryset.db]
        if connection.vendor != "postgresql":
            return super().count
        if not queryset.query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [connection.ops.quote_name(queryset.model._meta.db_table)],
                )
                row = cursor.fetchone()
            if row and row[0] > EXACT_COUNT_LIMIT:
                self.count_is_estimate = True
                return row[0]
        capped = queryset.order_by()[: EXACT_COUNT_LIMIT + 1].count()
        if capped <= EXACT_COUNT_LIMIT:
            return capped
        sql, params = queryset.order_by().query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        self.count_is_estimate = True
        return max(int(plan[0]["Plan"]["Plan Rows"]), capped)


class IndexedValuesListFilter(admin.AllValuesFieldListFilter):
    """Django's filter by each value of a column, whose values are read on PostgreSQL by skipping
    through the column's index, one probe per distinct value (a recursive query), instead of a
    SELECT DISTINCT over every row of the table on each load of the list."""

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        connection = connections[model._default_manager.db]
        if connection.vendor != "postgresql" or LOOKUP_SEP in field_path:
            return
        table = connection.ops.quote_name(model._meta.db_table)
        column = connection.ops.quote_name(field.column)
        # Names from the model's metadata, quoted: no user input reaches this SQL.
        values = (
            f"WITH RECURSIVE v AS ((SELECT {column} AS value FROM {table} WHERE {column} IS NOT NULL"  # noqa: S608
            f" ORDER BY {column} LIMIT 1) UNION ALL SELECT (SELECT {column} FROM {table}"
            f" WHERE {column} > v.value ORDER BY {column} LIMIT 1) FROM v WHERE v.value IS NOT NULL)"
            " SELECT value FROM v WHERE value IS NOT NULL"
        )
        with connection.cursor() as cursor:
            cursor.execute(values)
            self.lookup_choices = [row[0] for row in cursor.fetchall()]


class BigTableAdmin(admin.ModelAdmin):
    """A list of millions of rows (orders, customers, cards, usage, ledgers, notices, the trail).

    - Counts come from EstimatedCountPaginator; no second count of the whole table, no facet counts.
    - No date hierarchy (its SELECT DISTINCT date_trunc(...) scans the table): date list filters.
    - Search resolves exact keys first (portal.lib.search_keys): `search_keys` maps a kind of key
      to the lookups that hold it, each served by an index ({"phone": ("customer__phone",)}). The
      rows they find, in one UNION query, are the result. Only when no key matched anything does the
      text search of `search_fields` runs (icontains of the phrase, then of each word, in one field
      at a time, for names; a trigram index serves each field on PostgreSQL), and never for a term
      read as an identifier (a phone, an ICCID...) that matched nothing. Neither adds DISTINCT unless a search field crosses a multi-valued relation.
      A table too big for any text scan (usage records) sets `search_text = False`: its
      `search_fields` then only say what the box searches, and a term no key finds finds nothing.
    """

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    search_keys: dict[str, tuple[str, ...]] = {}
    search_text = True

    @admin.display(description=mark_safe('<input type="checkbox" id="action-toggle">'))
    def action_checkbox(self, obj):
        # Django's own checkbox, written directly: rendering its widget template for each of 100
        # rows cost a fifth of the orders list.
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            admin.helpers.ACTION_CHECKBOX_NAME,
            obj.pk,
            format_html(gettext("Select this object for an action - {}"), str(obj)),
        )

    def get_search_results(self, request, queryset, search_term):
        if not self.search_keys:  # a smaller table (the audit trail): Django's own search
            return super().get_search_results(request, queryset, search_term)
        keys = [key for key in search_keys_parse(search_term) if self.search_keys.get(key.kind)]
        if keys:
            manager = self.model._default_manager
            parts = [
                manager.filter(**{lookup: key.value}).order_by().values_list("pk", flat=True)
                for key in keys
                for lookup in self.search_keys[key.kind]
            ]
            ids = list(parts[0].union(*parts[1:])) if len(parts) > 1 else list(parts[0])
            if ids:
                return queryset.filter(pk__in=ids), False
            if any(key.kind in IDENTIFIER_KINDS for key in keys):
                # A phone number, ICCID, order number or Stripe id that is nobody's: no name holds it.
                return queryset.none(), False
        term = search_term.strip()
        if not term:
            return queryset, False
        if not self.search_text:
            return queryset.none(), False
        # The phrase as typed first ("Carla Rossi" in one field: every trigram of it in one index
        # probe); only if nothing holds it, each word in the same field ("Rossi Carla").
        for words in ([term], term.split()) if len(term.split()) > 1 else ([term],):
            matches = self._text_matches(words)
            # Read once (the list's count and page then look rows up by primary key), unless
            # there are too many to carry: then the query stays a subquery.
            ids = list(matches[: TEXT_MATCHES_READ + 1])
            if len(ids) > TEXT_MATCHES_READ:
                return queryset.filter(pk__in=matches), False
            if ids:
                return queryset.filter(pk__in=ids), False
        return queryset.none(), False

    def _text_matches(self, words: list[str]):
        """Primary keys of the rows with every word in one of `search_fields`: a UNION, one part per
        field, so that each part is served by its own (trigram) index, through a join if need be."""
        manager = self.model._default_manager
        parts = []
        for field in self.search_fields:
            condition = Q()
            for word in words:
                condition &= Q(**{f"{field}__icontains": word})
            parts.append(manager.filter(condition).order_by().values_list("pk", flat=True))
        return parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]
