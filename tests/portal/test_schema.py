"""The database holds every constraint and index the models declare.

Migrations can drift from the model state without `makemigrations --check` noticing: on PostgreSQL,
removing `db_index` from a column once dropped the partial unique index that makes a paid order top a
card up exactly once. This test compares the migrated test database with the models, on SQLite in the
default run and on PostgreSQL in the services run.
"""

import pytest
from django.apps import apps
from django.db import connection

PROJECT_APPS = {"accounts", "plans", "usage", "billing", "support"}


@pytest.mark.django_db
def test_every_declared_constraint_and_index_exists_in_the_database():
    missing = []
    with connection.cursor() as cursor:
        for model in apps.get_models():
            if model._meta.app_label not in PROJECT_APPS or not model._meta.managed:
                continue
            present = connection.introspection.get_constraints(cursor, model._meta.db_table)
            for declared in [*model._meta.constraints, *model._meta.indexes]:
                if declared.name not in present:
                    missing.append(f"{model._meta.label}.{declared.name}")
    assert missing == []
