"""Notification moved from accounts to notices without touching its table or its rows."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("accounts", "0002_notification_claimed_until"), ("support", "0002_staff_groups")]
AFTER = [("notices", "0001_initial")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    beat = [node for node in executor.loader.graph.leaf_nodes() if node[0] == "django_celery_beat"]
    executor.migrate(targets)
    return executor.loader.project_state(targets + beat).apps


def _leaf():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def test_notices_sent_before_the_move_stay_with_their_permissions_and_schedule():
    old = _migrate(BEFORE)
    try:
        User = old.get_model("accounts", "User")
        ContentType = old.get_model("contenttypes", "ContentType")
        Permission = old.get_model("auth", "Permission")
        Group = old.get_model("auth", "Group")
        PeriodicTask = old.get_model("django_celery_beat", "PeriodicTask")
        IntervalSchedule = old.get_model("django_celery_beat", "IntervalSchedule")
        user = User.objects.create(email="carla@example.com")
        sent = old.get_model("accounts", "Notification").objects.create(
            user=user,
            kind="account_deleted",
            channel="email",
            dedupe_key="k:1:email",
            recipient="carla@example.com",
            language="fr",
            status="sent",
        )
        content_type, _ = ContentType.objects.get_or_create(app_label="accounts", model="notification")
        view, _ = Permission.objects.get_or_create(
            content_type=content_type, codename="view_notification", defaults={"name": "Can view notice"}
        )
        group, _ = Group.objects.get_or_create(name="support")
        group.permissions.add(view)
        every_5_minutes = IntervalSchedule.objects.create(every=300, period="seconds")
        PeriodicTask.objects.create(
            name="accounts-notices-requeue",
            task="accounts.tasks.notifications_requeue_stale",
            interval=every_5_minutes,
        )

        new = _migrate(AFTER)

        moved = new.get_model("notices", "Notification").objects.get()
        assert (moved.pk, moved.user_id, moved.recipient, moved.status) == (
            sent.pk,
            user.pk,
            sent.recipient,
            "sent",
        )
        assert new.get_model("notices", "Notification")._meta.db_table == "accounts_notification"
        content_type = new.get_model("contenttypes", "ContentType").objects.get(pk=content_type.pk)
        assert (content_type.app_label, content_type.model) == ("notices", "notification")
        support = new.get_model("auth", "Group").objects.get(name="support")
        assert support.permissions.filter(
            content_type__app_label="notices", codename="view_notification"
        ).exists()
        tasks = new.get_model("django_celery_beat", "PeriodicTask").objects.values_list("task", flat=True)
        assert "accounts.tasks.notifications_requeue_stale" not in tasks
    finally:
        _migrate(_leaf())
