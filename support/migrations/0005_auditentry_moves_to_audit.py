"""The audit trail moves to the audit app; the staff-action permissions stay "support.<codename>".

AuditEntry leaves support's model state only: audit.0001 takes it over on the same table
(support_auditentry), so the append-only trigger from 0004 is untouched. The permissions it
carried for the staff actions and finance pages move, rows and all (so every group keeps them),
to StaffPermission, a model without a table that exists to hold them.
"""

from django.db import migrations, models

CODENAMES = [
    "card_adjust",
    "card_suspend",
    "order_refund",
    "order_resend_confirmation",
    "order_retry_fulfilment",
    "wallet_credit",
    "webhook_rerun",
    "finance_export",
    "finance_revenue",
]


def _move_permissions(apps, *, source: str, target: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    holder, _ = ContentType.objects.get_or_create(app_label="support", model=target)
    Permission.objects.filter(
        content_type__app_label="support", content_type__model=source, codename__in=CODENAMES
    ).update(content_type=holder)


def permissions_to_staff_permission(apps, schema_editor):
    _move_permissions(apps, source="auditentry", target="staffpermission")


def permissions_to_audit_entry(apps, schema_editor):
    _move_permissions(apps, source="staffpermission", target="auditentry")


class Migration(migrations.Migration):
    dependencies = [
        ("support", "0004_audit_trail_append_only"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.CreateModel(
            name="StaffPermission",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ],
            options={
                "verbose_name": "staff permission",
                "verbose_name_plural": "staff permissions",
                "permissions": [
                    ("card_adjust", "Can adjust a card's data or expiry"),
                    ("card_suspend", "Can suspend or resume a card"),
                    ("order_refund", "Can refund an order"),
                    ("order_resend_confirmation", "Can resend an order confirmation"),
                    ("order_retry_fulfilment", "Can retry a stuck fulfilment"),
                    ("wallet_credit", "Can add goodwill credit to a wallet"),
                    ("webhook_rerun", "Can re-run a stored webhook event"),
                    ("finance_export", "Can export order records"),
                    ("finance_revenue", "Can see revenue reports"),
                ],
                "managed": False,
                "default_permissions": (),
            },
        ),
        migrations.RunPython(permissions_to_staff_permission, permissions_to_audit_entry),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AuditEntry")],
            database_operations=[],
        ),
    ]
