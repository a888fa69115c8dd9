from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0011_revenue_day"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="refund",
            index=models.Index(fields=["created_at", "id"], name="refund_created_idx"),
        ),
    ]
