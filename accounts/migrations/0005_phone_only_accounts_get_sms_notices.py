from django.db import migrations


def phone_only_accounts_get_sms(apps, schema_editor):
    # Notices reach a customer on a channel they can receive: without an address, that is SMS.
    User = apps.get_model("accounts", "User")
    User.objects.filter(email__isnull=True, anonymised_at__isnull=True).update(
        notify_email=False, notify_sms=True
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_user_sessions_ended_at"),
    ]

    operations = [
        migrations.RunPython(phone_only_accounts_get_sms, migrations.RunPython.noop),
    ]
