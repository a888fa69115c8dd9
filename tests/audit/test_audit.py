import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from audit.models import AuditEntry, ImmutableRecordError
from audit.services import audit_record
from plans.models import Plan
from tests.fixtures.mfa import totp_enrol
from tests.support.factories import CardFactory, PlanFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(db):
    return totp_enrol(UserFactory(email="root@example.com", is_staff=True, is_superuser=True))


@pytest.fixture
def root_client(client, superuser):
    client.force_login(superuser)
    return client


def test_an_admin_change_asks_for_a_reason_and_records_before_and_after(root_client, superuser):
    plan = PlanFactory(price_cents=1990)
    url = reverse("admin:plans_plan_change", args=[plan.pk])
    form = root_client.get(url).context["adminform"].form
    data = {
        name: value for name, value in form.initial.items() if value is not None and name != "audit_reason"
    }
    data.update({"price_cents": 2490, "name_en": "Week 5 GB", "period": "week"})

    without_reason = root_client.post(url, data)
    assert without_reason.status_code == 200
    assert Plan.objects.get().price_cents == 1990

    data["audit_reason"] = "Price change approved on 24 Nov"
    response = root_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    entry = AuditEntry.objects.get()
    assert entry.actor == superuser
    assert entry.action == "admin_change"
    assert entry.object_type == "plans.plan"
    assert entry.reason == "Price change approved on 24 Nov"
    assert entry.before["price_cents"] == 1990
    assert "code" not in entry.before  # only what changed
    assert entry.after["price_cents"] == 2490


def test_a_card_label_change_by_support_is_audited(client, customer):
    agent = totp_enrol(UserFactory(is_staff=True, groups=["support"]))
    agent.save()
    client.force_login(agent)
    card = CardFactory(owner=customer, label="Old")
    url = reverse("admin:usage_card_change", args=[card.pk])
    data = {"owner": customer.pk, "label": "Holiday phone", "audit_reason": "Asked by phone"}
    for prefix in ("ledger_entries", "provisioning_events"):
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0})
    response = client.post(url, data)
    assert response.status_code == 302
    entry = AuditEntry.objects.get()
    assert (entry.before, entry.after["label"], entry.reason) == (
        {"label": "Old"},
        "Holiday phone",
        "Asked by phone",
    )


def test_deleting_through_the_admin_is_audited(root_client):
    group = Group.objects.create(name="temporary")
    plan = PlanFactory(code="gone")
    root_client.post(reverse("admin:plans_plan_delete", args=[plan.pk]), {"post": "yes"})
    assert not Plan.objects.filter(pk=plan.pk).exists()
    entry = AuditEntry.objects.get(action="admin_delete")
    assert entry.before["code"] == "gone"
    group.delete()


def test_secrets_never_reach_the_trail(root_client, customer):
    entry = audit_record(actor=None, action="test", obj=customer, before=None, after=None)
    from audit.services import object_snapshot

    assert "password" not in object_snapshot(customer)
    assert entry.object_label == str(customer)


def test_an_audit_entry_cannot_be_changed_or_deleted_in_code(customer):
    entry = audit_record(actor=customer, action="x", obj=customer, reason="r")
    entry.reason = "rewritten"
    with pytest.raises(ImmutableRecordError):
        entry.save()
    with pytest.raises(ImmutableRecordError):
        entry.delete()
    assert AuditEntry.objects.get().reason == "r"


@pytest.mark.parametrize("model", ["audit/auditentry", "usage/ledgerentry"])
def test_not_even_a_superuser_can_add_change_or_delete_ledger_or_audit_entries(root_client, customer, model):
    app_label, model_name = model.split("/")
    card = CardFactory(owner=customer)
    from django.db import transaction
    from django.utils import timezone

    from usage.ledger import ledger_append

    with transaction.atomic():
        ledger_append(
            card=card, kind="adjustment", data_delta=5, expires_after=None, now=timezone.now(), reason="t"
        )
    audit_record(actor=customer, action="x", obj=customer, reason="r")
    obj_pk = (AuditEntry if app_label == "audit" else card.ledger_entries.model).objects.first().pk

    assert root_client.get(reverse(f"admin:{app_label}_{model_name}_add")).status_code == 403
    change = root_client.get(reverse(f"admin:{app_label}_{model_name}_change", args=[obj_pk]))
    assert change.status_code == 200
    assert 'name="_save"' not in change.content.decode()
    assert (
        root_client.post(reverse(f"admin:{app_label}_{model_name}_change", args=[obj_pk]), {}).status_code
        == 403
    )
    assert (
        root_client.get(reverse(f"admin:{app_label}_{model_name}_delete", args=[obj_pk])).status_code == 403
    )
    changelist = root_client.post(
        reverse(f"admin:{app_label}_{model_name}_changelist"),
        {"action": "delete_selected", "_selected_action": [obj_pk], "post": "yes"},
    )
    assert changelist.status_code in (200, 302)
    assert (
        (AuditEntry if app_label == "audit" else card.ledger_entries.model).objects.filter(pk=obj_pk).exists()
    )


def test_every_admin_page_opens_for_a_superuser(root_client, customer):
    from django.contrib import admin

    for model in admin.site._registry:
        info = model._meta.app_label, model._meta.model_name
        assert root_client.get(reverse("admin:{}_{}_changelist".format(*info))).status_code == 200, info
        add = root_client.get(reverse("admin:{}_{}_add".format(*info)))
        assert add.status_code in (200, 403), info
        obj = model._default_manager.first()
        if obj is not None:
            assert (
                root_client.get(reverse("admin:{}_{}_change".format(*info), args=[obj.pk])).status_code == 200
            ), info


def test_changes_in_the_libraries_admins_are_audited_too(root_client, superuser):
    response = root_client.post(reverse("admin:auth_group_add"), {"name": "auditors"})
    assert response.status_code == 302
    group = Group.objects.get(name="auditors")
    url = reverse("admin:auth_group_change", args=[group.pk])
    assert root_client.post(url, {"name": "auditors-2"}).status_code == 200  # a reason is required
    assert root_client.post(url, {"name": "auditors-2", "audit_reason": "Renamed"}).status_code == 302
    entries = list(
        AuditEntry.objects.filter(object_type="auth.group").order_by("id").values_list("action", "reason")
    )
    assert entries == [("admin_add", ""), ("admin_change", "Renamed")]


def test_setting_a_password_in_the_admin_is_audited_without_the_password(root_client, customer):
    url = reverse("admin:auth_user_password_change", args=[customer.pk])
    response = root_client.post(
        url, {"password1": "Another horse 42!", "password2": "Another horse 42!", "usable_password": "true"}
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="admin_set_password")
    assert entry.object_id == str(customer.pk)
    assert "horse" not in str(entry.before) + str(entry.after)
