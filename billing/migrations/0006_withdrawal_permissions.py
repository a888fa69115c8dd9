"""Support and finance see customers' withdrawals and their start-now requests."""

from django.db import migrations

GRANTS = {
    "support": ["view_withdrawal", "view_startnowrequest"],
    "finance": ["view_withdrawal", "view_startnowrequest"],
}


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config("billing")
    models_module = getattr(app_config, "models_module", None)
    app_config.models_module = models_module or True  # a migration's app registry has none
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.add(
                *Permission.objects.filter(content_type__app_label="billing", codename__in=codenames)
            )


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    for group in apps.get_model("auth", "Group").objects.filter(name__in=GRANTS):
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="billing", codename__in=GRANTS[group.name])
        )


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0005_withdrawal"),
        ("support", "0002_staff_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
