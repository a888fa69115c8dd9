from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0010_staff_search_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="refund",
            index=models.Index(fields=["created_at", "id"], name="refund_created_idx"),
        ),
    ]
