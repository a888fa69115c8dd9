from django.db import migrations, models
from django.db.models.functions import Lower


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0009_refund_status_disputes_event_retries"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["customer_phone"], name="order_customer_phone_idx"),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(Lower("customer_email"), name="order_customer_email_idx"),
        ),
    ]
