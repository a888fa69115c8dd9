"""Who may open which staff page: support, finance, a customer and an anonymous visitor.

The expectations are written out by hand (not derived from the groups), so a permission granted by
mistake in the migration fails here.
"""

from datetime import UTC, datetime, timedelta

import pytest
from allauth.account.models import EmailAddress
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEntry
from audit.services import audit_record
from billing.invoicing import Buyer, invoice_issue
from billing.models import AutoRenewal, Refund, Wallet, WalletEntry, WebhookEvent, Withdrawal
from notices.models import Notification
from plans.models import Promotion
from support.models import ExportJob, Ticket, TicketMessage
from tests.support.factories import CardFactory, OrderFactory, UserFactory, ensure_staff_groups, staff_user
from usage.models import LedgerEntry, ProvisioningEvent, UsageRecord

pytestmark = pytest.mark.django_db

SUPPORT_VIEWS = {
    "accounts.user",
    "notices.notification",
    "account.emailaddress",
    "plans.plan",
    "plans.promotion",
    "usage.card",
    "usage.ledgerentry",
    "usage.usagerecord",
    "usage.provisioningevent",
    "billing.order",
    "billing.refund",
    "billing.webhookevent",
    "billing.wallet",
    "billing.walletentry",
    "billing.autorenewal",
    "audit.auditentry",
    "billing.invoice",
    "billing.withdrawal",
    "support.ticket",
    "support.ticketmessage",
}
FINANCE_VIEWS = {
    "accounts.user",
    "plans.plan",
    "plans.promotion",
    "usage.card",
    "billing.order",
    "billing.refund",
    "billing.wallet",
    "billing.walletentry",
    "billing.invoice",
    "billing.withdrawal",
}
# Staff actions: (admin url name, object key, action) — support only.
STAFF_ACTIONS = [
    ("usage_card", "card", "adjust"),
    ("usage_card", "card", "suspend"),
    ("usage_card", "suspended_card", "resume"),
    ("billing_order", "order", "refund"),
    ("billing_order", "order", "resend-confirmation"),
    ("billing_order", "paid_order", "retry-fulfilment"),
    ("billing_webhookevent", "event", "rerun"),
    ("billing_wallet", "wallet", "goodwill"),
    ("accounts_user", "customer", "goodwill"),
    ("billing_invoice", "billing.invoice", "resend"),
]
ROLES = ["support", "finance", "customer", "anonymous"]


@pytest.fixture
def objects(db):
    ensure_staff_groups()
    customer = UserFactory()
    order = OrderFactory(customer=customer)
    card = order.card
    now = timezone.now()
    entry = LedgerEntry.objects.create(card=card, kind="adjustment", data_delta=1, data_after=1, reason="t")
    wallet = Wallet.objects.create(user=customer, balance_cents=100)
    ticket = Ticket.objects.create(user=customer, topic="other", order=order)
    return {
        "customer": customer,
        "card": card,
        "suspended_card": CardFactory(owner=customer, suspended_at=now),
        "order": order,
        "paid_order": OrderFactory(customer=customer, status="paid", fulfilled_at=None),
        "event": WebhookEvent.objects.create(stripe_event_id="evt_1", type="x", payload={}),
        "wallet": wallet,
        "accounts.user": customer,
        "account.emailaddress": EmailAddress.objects.create(
            user=customer, email=customer.email, verified=True, primary=True
        ),
        "notices.notification": Notification.objects.create(
            user=customer, kind="k", channel="email", dedupe_key="k", recipient="x@example.com", language="en"
        ),
        "plans.plan": order.plan,
        "plans.promotion": Promotion.objects.create(
            code="P", discount_percent=10, valid_from=now, valid_until=now + timedelta(days=1)
        ),
        "usage.card": card,
        "usage.ledgerentry": entry,
        "usage.usagerecord": UsageRecord.objects.create(
            record_id="r1",
            card=card,
            ledger_entry=entry,
            start=datetime(2026, 1, 1, tzinfo=UTC),
            end=datetime(2026, 1, 1, tzinfo=UTC),
            bytes=1,
        ),
        "usage.provisioningevent": ProvisioningEvent.objects.create(
            ledger_entry=entry, card=card, payload={}
        ),
        "billing.order": order,
        "billing.refund": Refund.objects.create(order=order, amount_cents=1, destination="wallet"),
        "billing.webhookevent": WebhookEvent.objects.create(stripe_event_id="evt_2", type="x", payload={}),
        "billing.wallet": wallet,
        "billing.walletentry": WalletEntry.objects.create(
            wallet=wallet, kind="goodwill", amount_cents=100, balance_after_cents=100
        ),
        "billing.autorenewal": AutoRenewal.objects.create(card=card, user=customer, plan=order.plan),
        "audit.auditentry": audit_record(actor=None, action="x", obj=customer),
        "billing.invoice": invoice_issue(
            order=order,
            buyer=Buyer(name="Rossi Srl", address="Via Roma 1", country="IT"),
            language="en",
            now=order.paid_at + timedelta(hours=1),
        ),
        "billing.withdrawal": Withdrawal.objects.create(
            order=order, requested_at=now, data_unused_bp=10000, time_unused_bp=5000, refund_cents=0
        ),
        "support.ticket": ticket,
        "support.ticketmessage": TicketMessage.objects.create(ticket=ticket, body="hello"),
        "support.exportjob": ExportJob.objects.create(
            user=customer, params={}, file_format="csv", expires_at=now + timedelta(hours=1)
        ),
    }


@pytest.fixture
def login(client):
    def as_role(role):
        if role == "support":
            client.force_login(staff_user("support"))
        elif role == "finance":
            client.force_login(staff_user("finance"))
        elif role == "customer":
            client.force_login(UserFactory())
        return client

    return as_role


def expected_admin_status(role, allowed: bool) -> int:
    if role in ("customer", "anonymous"):
        return 302  # to the login page, never the data
    return 200 if allowed else 403


def registered_models():
    return sorted(admin.site._registry, key=lambda model: model._meta.label_lower)


@pytest.mark.parametrize("role", ROLES)
def test_every_admin_changelist_and_change_page_is_open_only_to_the_right_role(login, objects, role):
    client = login(role)
    visible = {"support": SUPPORT_VIEWS, "finance": FINANCE_VIEWS}.get(role, set())
    checked = 0
    for model in registered_models():
        label = model._meta.label_lower
        info = model._meta.app_label, model._meta.model_name
        allowed = label in visible
        response = client.get(reverse("admin:{}_{}_changelist".format(*info)))
        assert response.status_code == expected_admin_status(role, allowed), (role, label, "changelist")
        if label in objects:
            response = client.get(reverse("admin:{}_{}_change".format(*info), args=[objects[label].pk]))
            assert response.status_code == expected_admin_status(role, allowed), (role, label, "change")
            checked += 1
    assert checked >= 19


@pytest.mark.parametrize("role", ROLES)
def test_only_support_reaches_the_staff_actions(login, objects, role):
    client = login(role)
    for url_name, key, action in STAFF_ACTIONS:
        url = reverse(f"admin:{url_name}_staff_action", args=[objects[key].pk, action])
        page = client.get(url)
        post = client.post(url, {"reason": "matrix"})
        expected = {"support": 200, "finance": 403}.get(role, 302)
        assert page.status_code == expected, (role, url)
        if role != "support":
            assert post.status_code == expected, (role, url)
    if role != "support":
        assert not AuditEntry.objects.exclude(action="x").exists()


@pytest.mark.parametrize(
    ("role", "model", "expected"),
    [
        ("support", "usage.card", 302),
        ("finance", "usage.card", 403),
        ("support", "billing.order", 403),
        ("finance", "billing.order", 403),
        ("support", "billing.wallet", 403),
        ("finance", "billing.wallet", 403),
        ("support", "usage.ledgerentry", 403),
        ("support", "audit.auditentry", 403),
        ("finance", "audit.auditentry", 403),
        ("support", "accounts.user", 403),
        ("finance", "accounts.user", 403),
    ],
)
def test_who_may_save_a_change_through_the_admin(login, objects, role, model, expected):
    client = login(role)
    obj = objects[model]
    app_label, model_name = model.split(".")
    data = {}
    if model == "usage.card":
        data = {"owner": obj.owner_id, "label": "new", "audit_reason": "matrix"}
        for prefix in ("ledger_entries", "provisioning_events"):
            data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0})
    response = client.post(reverse(f"admin:{app_label}_{model_name}_change", args=[obj.pk]), data)
    assert response.status_code == expected


@pytest.mark.parametrize("role", ROLES)
def test_ledger_and_audit_trail_cannot_be_deleted_through_the_site_by_anyone(login, objects, role):
    client = login(role)
    for label in ("usage.ledgerentry", "audit.auditentry"):
        app_label, model_name = label.split(".")
        response = client.post(
            reverse(f"admin:{app_label}_{model_name}_delete", args=[objects[label].pk]), {"post": "yes"}
        )
        assert response.status_code in (302, 403)
    assert LedgerEntry.objects.filter(pk=objects["usage.ledgerentry"].pk).exists()
    assert AuditEntry.objects.filter(pk=objects["audit.auditentry"].pk).exists()


@pytest.mark.parametrize("role", ROLES)
def test_export_and_revenue_pages_are_for_finance_only(login, objects, role):
    client = login(role)
    job_owner = staff_user("finance", email="owner-of-job@example.com")
    job = ExportJob.objects.create(
        user=job_owner,
        params={},
        file_format="csv",
        status="done",
        file_name="x.csv",
        expires_at=timezone.now() + timedelta(hours=1),
    )
    urls = {
        reverse("support:finance_export"): 200,
        reverse("support:finance_revenue"): 200,
        reverse("support:finance_export_status", args=[job.pk]): 404,  # someone else's job
        reverse("support:finance_export_download", args=[job.pk]): 404,
    }
    for url, finance_status in urls.items():
        response = client.get(url)
        expected = {"finance": finance_status, "support": 403}.get(role, 302)
        assert response.status_code == expected, (role, url)
    post = client.post(
        reverse("support:finance_export"), {"start": "2026-11-01", "end": "2026-11-30", "file_format": "csv"}
    )
    assert post.status_code == {"finance": 200, "support": 403}.get(role, 302)
    if role != "finance":
        assert not post.get("Content-Disposition")
