"""An invoice or credit note is never changed or deleted: not in the admin, not by the ORM, not in SQL."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from billing.models import Invoice
from portal.lib.append_only import AppendOnlyError
from tests.billing.invoice_helpers import CHINESE_COMPANY, issue, paid_order


@pytest.fixture
def invoice(owner, card, week_plan):
    return issue(paid_order(user=owner, card=card, plan=week_plan))


def test_the_orm_refuses_to_save_or_delete_an_issued_invoice(invoice):
    invoice.buyer_name = "Someone else"
    with pytest.raises(AppendOnlyError):
        invoice.save()
    with pytest.raises(AppendOnlyError):
        invoice.delete()
    with pytest.raises(AppendOnlyError):
        Invoice.objects.filter(pk=invoice.pk).update(gross_cents=1)
    with pytest.raises(AppendOnlyError):
        Invoice.objects.filter(pk=invoice.pk).delete()
    with pytest.raises(AppendOnlyError):
        Invoice.objects.bulk_update([invoice], ["buyer_name"])

    invoice.refresh_from_db()
    assert (invoice.buyer_name, invoice.gross_cents) == (CHINESE_COMPANY, 1490)


def test_the_admin_shows_but_never_changes_or_deletes(admin_client, invoice):
    change_url = reverse("admin:billing_invoice_change", args=[invoice.pk])
    page = admin_client.get(change_url)

    assert page.status_code == 200
    assert CHINESE_COMPANY in page.content.decode()
    assert 'name="buyer_name"' not in page.content.decode()  # read-only, no input
    admin_client.post(change_url, {"buyer_name": "Changed", "gross_cents": "1"})
    deleted = admin_client.post(reverse("admin:billing_invoice_delete", args=[invoice.pk]), {"post": "yes"})
    bulk = admin_client.post(
        reverse("admin:billing_invoice_changelist"),
        {"action": "delete_selected", "_selected_action": [invoice.pk], "post": "yes"},
    )
    assert admin_client.get(reverse("admin:billing_invoice_add")).status_code == 403

    assert deleted.status_code == 403
    assert bulk.status_code in (200, 302)
    invoice.refresh_from_db()
    assert (invoice.buyer_name, invoice.gross_cents) == (CHINESE_COMPANY, 1490)


def _sql_refused(statement: str, *params) -> str:
    with pytest.raises(IntegrityError) as refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params)
    return str(refused.value)


@pytest.mark.integration
def test_postgresql_refuses_raw_sql_that_would_change_or_delete_it(invoice):
    message = _sql_refused(
        "UPDATE billing_invoice SET gross_cents = 1, vat_cents = 0, net_cents = 1 WHERE id = %s", invoice.pk
    )
    assert "billing_invoice is append-only: rows cannot be changed" in message
    message = _sql_refused("DELETE FROM billing_invoice WHERE id = %s", invoice.pk)
    assert "rows cannot be deleted" in message

    invoice.refresh_from_db()
    assert invoice.gross_cents == 1490
