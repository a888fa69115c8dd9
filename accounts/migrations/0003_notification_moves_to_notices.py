"""Notification moved to the notices app: only Django's model state changes, the table stays.

notices.0001 takes the model over (same table, accounts_notification). This runs after the staff
groups were created (support.0002), which grant the permission on the model where it then lived.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_notification_claimed_until"),
        ("support", "0002_staff_groups"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Notification")],
            database_operations=[],
        ),
    ]
