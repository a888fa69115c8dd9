"""Invoices and credit notes go to the customer by email with the PDF attached, on request."""

import pytest
from django.core import mail
from django.urls import reverse

from audit.models import AuditEntry
from tests.billing.invoice_helpers import CHINESE_COMPANY, issue, paid_order, pdf_text
from tests.support.factories import ensure_staff_groups, staff_user


@pytest.fixture
def invoice(owner, card, week_plan):
    order = paid_order(user=owner, card=card, plan=week_plan)
    mail.outbox.clear()  # the renewal confirmation
    return issue(order)


def test_the_customer_gets_the_invoice_pdf_attached(owner_client, invoice):
    response = owner_client.post(
        reverse("billing:document_email", args=[invoice.order.number, invoice.number])
    )

    assert response.status_code == 302
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert invoice.number in message.subject
    [(name, content, content_type)] = message.attachments
    assert (name, content_type) == (f"{invoice.number}.pdf", "application/pdf")
    assert CHINESE_COMPANY in pdf_text(content)


def test_an_outsider_cannot_have_it_sent(outsider_client, invoice):
    response = outsider_client.post(
        reverse("billing:document_email", args=[invoice.order.number, invoice.number])
    )

    assert response.status_code == 404
    assert mail.outbox == []


def test_a_phone_only_customer_is_told_to_add_an_email(owner, owner_client, invoice):
    owner.email = None
    owner.save(update_fields=["email"])

    owner_client.post(reverse("billing:document_email", args=[invoice.order.number, invoice.number]))
    page = owner_client.get(reverse("billing:receipt", args=[invoice.order.number]))

    assert mail.outbox == []
    assert "Email it to me" not in page.content.decode()


def test_support_resends_it_from_the_admin_with_a_reason_and_it_is_audited(client, invoice):
    ensure_staff_groups()
    agent = staff_user("support")
    client.force_login(agent)
    url = reverse("admin:billing_invoice_staff_action", args=[invoice.pk, "resend"])

    assert client.get(url).status_code == 200
    response = client.post(url, {"reason": "Customer lost the email"})

    assert response.status_code == 302
    [message] = mail.outbox
    assert message.attachments[0][0] == f"{invoice.number}.pdf"
    entry = AuditEntry.objects.get(action="invoice_resend")
    assert (entry.actor, entry.reason) == (agent, "Customer lost the email")
