import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Drops the database check of each usage record's card (bench/README.md, "Usage ingest").

    Django still refuses to delete a card that has records (PROTECT); `check_ledgers` reports any
    record whose card does not exist. Dropping a constraint is instant on a table of any size.
    """

    dependencies = [
        ("usage", "0007_staff_search_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="usagerecord",
            name="card",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="usage_records",
                to="usage.card",
            ),
        ),
    ]
