"""Seal the staff's authenticator keys and recovery-code seeds that were stored in the clear."""

from django.db import migrations

from portal.lib import secret_box

FIELDS = {"totp": "secret", "recovery_codes": "seed"}


def _convert(apps, change):
    Authenticator = apps.get_model("mfa", "Authenticator")
    for authenticator in Authenticator.objects.filter(type__in=FIELDS).iterator():
        field = FIELDS[authenticator.type]
        value = authenticator.data.get(field)
        new = change(value) if isinstance(value, str) else None
        if new is not None and new != value:
            authenticator.data[field] = new
            authenticator.save(update_fields=["data"])


def seal(apps, schema_editor):
    _convert(apps, lambda value: value if secret_box.is_sealed(value) else secret_box.seal(value))


def unseal(apps, schema_editor):
    _convert(apps, lambda value: secret_box.unseal(value) if secret_box.is_sealed(value) else value)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_staff_search_indexes"),
        ("mfa", "0003_authenticator_type_uniq"),
    ]

    operations = [migrations.RunPython(seal, unseal)]
