from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("notices", "0002_attachments"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="notification",
            index=models.Index(fields=["recipient"], name="notification_recipient_idx"),
        ),
    ]
