"""AuditEntry moved from support to audit without touching its table, its rows or its trigger."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("support", "0004_audit_trail_append_only")]
AFTER = [("audit", "0001_initial")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _leaf():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def test_the_trail_and_every_staff_permission_survive_the_move():
    old = _migrate(BEFORE)
    try:
        User = old.get_model("accounts", "User")
        Group = old.get_model("auth", "Group")
        agent = User.objects.create(email="agent@example.com", is_staff=True)
        entry = old.get_model("support", "AuditEntry").objects.create(
            actor=agent,
            actor_label=str(agent),
            action="card_adjust",
            object_type="usage.card",
            object_id="7",
            reason="Roaming outage",
        )
        ContentType = old.get_model("contenttypes", "ContentType")
        Permission = old.get_model("auth", "Permission")
        audit_entry, _ = ContentType.objects.get_or_create(app_label="support", model="auditentry")
        support, _ = Group.objects.get_or_create(name="support")
        for codename in ("view_auditentry", "card_adjust", "finance_export"):
            permission, _ = Permission.objects.get_or_create(
                content_type=audit_entry, codename=codename, defaults={"name": codename}
            )
            support.permissions.add(permission)
        granted_before = set(support.permissions.values_list("pk", "codename"))

        new = _migrate(AFTER)

        moved = new.get_model("audit", "AuditEntry").objects.get()
        assert (moved.pk, moved.actor_id, moved.reason) == (entry.pk, agent.pk, "Roaming outage")
        assert new.get_model("audit", "AuditEntry")._meta.db_table == "support_auditentry"
        support = new.get_model("auth", "Group").objects.get(name="support")
        granted = {
            (permission.pk, permission.codename): permission.content_type.app_label
            for permission in support.permissions.select_related("content_type")
        }
        assert set(granted) == granted_before
        assert granted[next(key for key in granted if key[1] == "view_auditentry")] == "audit"
        assert granted[next(key for key in granted if key[1] == "card_adjust")] == "support"
    finally:
        _migrate(_leaf())


def test_the_staff_permissions_keep_their_names():
    from django.contrib.auth.models import Permission

    names = set(
        Permission.objects.filter(content_type__app_label="support").values_list("codename", flat=True)
    )
    assert {"card_adjust", "order_refund", "wallet_credit", "finance_export", "finance_revenue"} <= names
    assert Permission.objects.filter(content_type__app_label="audit", codename="view_auditentry").exists()
