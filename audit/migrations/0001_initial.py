"""AuditEntry, moved here from support: the table (support_auditentry), its rows and its
append-only trigger stay. Its content type moves with it, so "view the audit trail" stays granted."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def content_type_to_audit(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="audit", model="auditentry").exists():
        ContentType.objects.filter(app_label="support", model="auditentry").update(app_label="audit")


def content_type_to_support(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="support", model="auditentry").exists():
        ContentType.objects.filter(app_label="audit", model="auditentry").update(app_label="support")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("support", "0005_auditentry_moves_to_audit"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditEntry",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("actor_label", models.CharField(blank=True, max_length=254, verbose_name="staff member (as recorded)")),
                        ("action", models.CharField(db_index=True, max_length=60, verbose_name="action")),
                        ("object_type", models.CharField(max_length=100, verbose_name="object type")),
                        ("object_id", models.CharField(max_length=64, verbose_name="object id")),
                        ("object_label", models.CharField(blank=True, max_length=200, verbose_name="object")),
                        ("reason", models.TextField(blank=True, verbose_name="reason")),
                        ("before", models.JSONField(blank=True, null=True, verbose_name="before")),
                        ("after", models.JSONField(blank=True, null=True, verbose_name="after")),
                        ("created_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name="when")),
                        ("actor", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL, verbose_name="staff member")),
                    ],
                    options={
                        "verbose_name": "audit entry",
                        "verbose_name_plural": "audit trail",
                        "db_table": "support_auditentry",
                        "ordering": ["-created_at", "-id"],
                        "default_permissions": ("view",),
                        "indexes": [models.Index(fields=["object_type", "object_id"], name="support_aud_object__075d89_idx")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_type_to_audit, content_type_to_support),
    ]
