from django.db import migrations, models

from portal.lib.postgres_sql import trigram_extension, trigram_index


class Migration(migrations.Migration):
    dependencies = [
        ("usage", "0006_provisioning_first_attempted_at"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="card",
            index=models.Index(fields=["created_at", "id"], name="card_created_idx"),
        ),
        # Support searches cards by part of their label (admin icontains).
        trigram_extension(),  # PostgreSQL only; nothing on SQLite
        trigram_index("card_label_trgm", "usage_card", "label"),
    ]
