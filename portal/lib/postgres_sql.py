"""Migration steps that exist only on PostgreSQL (SQLite, in development, has no pg_trgm)."""

from collections.abc import Callable
from typing import Any

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor


def postgres_only(sql: str, reverse_sql: str) -> migrations.RunPython:
    """RunSQL for PostgreSQL alone; elsewhere nothing (SQLite keeps its plain LIKE scans)."""

    def run(statement: str) -> Callable[[Any, BaseDatabaseSchemaEditor], None]:
        def operation(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
            if schema_editor.connection.vendor == "postgresql":
                schema_editor.execute(statement)

        return operation

    return migrations.RunPython(run(sql), run(reverse_sql), elidable=False)


def trigram_index(name: str, table: str, column: str) -> migrations.RunPython:
    """A GIN trigram index on UPPER(column): what Django's icontains (UPPER(col) LIKE UPPER('%x%')) uses."""
    return postgres_only(
        f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" USING gin (UPPER("{column}") gin_trgm_ops)',
        f'DROP INDEX IF EXISTS "{name}"',
    )


def trigram_extension() -> migrations.RunPython:
    """pg_trgm on PostgreSQL, nothing elsewhere, in both directions.

    Django's TrigramExtension asks pg_extension when migrating backwards whatever the database, which
    SQLite has not; and going back never drops the extension, which the other app's indexes may use.
    """
    return postgres_only("CREATE EXTENSION IF NOT EXISTS pg_trgm", "SELECT 1")
