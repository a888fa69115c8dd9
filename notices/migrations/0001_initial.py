"""Notification, moved here from accounts: the table (accounts_notification) and its rows stay.

Its content type moves with it, so the permissions staff groups hold on it and the admin's history
keep pointing at it. The periodic re-queue of stale notices is scheduled under a new name; the old
schedule row would call a task that no longer exists.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

OLD_TASK = "accounts.tasks.notifications_requeue_stale"


def content_type_to_notices(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="notices", model="notification").exists():
        ContentType.objects.filter(app_label="accounts", model="notification").update(app_label="notices")


def content_type_to_accounts(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="accounts", model="notification").exists():
        ContentType.objects.filter(app_label="notices", model="notification").update(app_label="accounts")


def old_schedule_remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task=OLD_TASK).delete()


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0003_notification_moves_to_notices"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_celery_beat", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Notification",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("kind", models.CharField(max_length=40, verbose_name="kind")),
                        ("channel", models.CharField(choices=[("email", "Email"), ("sms", "SMS")], max_length=10, verbose_name="channel")),
                        ("dedupe_key", models.CharField(max_length=200, unique=True, verbose_name="dedupe key")),
                        ("recipient", models.CharField(max_length=254, verbose_name="recipient")),
                        ("language", models.CharField(max_length=10, verbose_name="language")),
                        ("subject", models.CharField(blank=True, max_length=200, verbose_name="subject")),
                        ("context", models.JSONField(blank=True, default=dict, verbose_name="context")),
                        ("status", models.CharField(choices=[("pending", "Pending"), ("sent", "Sent"), ("failed", "Failed")], default="pending", max_length=10, verbose_name="status")),
                        ("attempts", models.PositiveIntegerField(default=0, verbose_name="attempts")),
                        ("claimed_until", models.DateTimeField(blank=True, null=True, verbose_name="claimed until")),
                        ("last_error", models.TextField(blank=True, verbose_name="last error")),
                        ("created_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name="created at")),
                        ("sent_at", models.DateTimeField(blank=True, null=True, verbose_name="sent at")),
                        ("user", models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="notifications", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "verbose_name": "notice",
                        "verbose_name_plural": "notices",
                        "db_table": "accounts_notification",
                        "ordering": ["-created_at"],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_type_to_notices, content_type_to_accounts),
        migrations.RunPython(old_schedule_remove, migrations.RunPython.noop),
    ]
