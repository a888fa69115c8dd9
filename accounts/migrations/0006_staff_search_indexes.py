from django.db import migrations, models

from portal.lib.postgres_sql import trigram_extension, trigram_index


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_phone_only_accounts_get_sms_notices"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="user",
            index=models.Index(fields=["date_joined", "id"], name="user_joined_idx"),
        ),
        # Support searches customers by part of a name or an email (admin icontains).
        trigram_extension(),  # PostgreSQL only; nothing on SQLite
        trigram_index("user_name_trgm", "accounts_user", "name"),
        trigram_index("user_email_trgm", "accounts_user", "email"),
    ]
