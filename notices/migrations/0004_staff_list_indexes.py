from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("notices", "0003_staff_search_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="notification",
            index=models.Index(fields=["kind"], name="notification_kind_idx"),
        ),
    ]
