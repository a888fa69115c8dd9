"""Append-only tables enforced by PostgreSQL itself, not only by the models' save() and delete().

The ledger, the wallet entries and the audit trail are history: a row is written once and never
changed or removed, whoever holds a database connection (a shell, a careless data migration, a
raw UPDATE). A BEFORE UPDATE OR DELETE trigger refuses both. Columns named in `nullable` may only
be set to NULL, which is what ON DELETE SET NULL does when, say, a staff account is removed.

TRUNCATE is not a row change and stays possible (the test suite empties tables with it). SQLite,
the embedded default, gets no trigger: the models still refuse, and production runs PostgreSQL.
"""

from typing import Any

from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

FUNCTION = """
CREATE OR REPLACE FUNCTION portal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    clearable text[] := coalesce(TG_ARGV, '{}'::text[]);  -- NULL when the trigger has no arguments
    column_name text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION '% is append-only: rows cannot be deleted', TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF to_jsonb(NEW) - clearable IS DISTINCT FROM to_jsonb(OLD) - clearable THEN
        RAISE EXCEPTION '% is append-only: rows cannot be changed', TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation';
    END IF;
    FOREACH column_name IN ARRAY clearable LOOP
        IF to_jsonb(NEW) ->> column_name IS NOT NULL
                AND to_jsonb(NEW) -> column_name IS DISTINCT FROM to_jsonb(OLD) -> column_name THEN
            RAISE EXCEPTION '% is append-only: % may only be cleared', TG_TABLE_NAME, column_name
                USING ERRCODE = 'restrict_violation';
        END IF;
    END LOOP;
    RETURN NEW;
END
$$;
"""


def append_only(table: str, *nullable: str) -> migrations.RunPython:
    """A migration operation that makes `table` append-only on PostgreSQL (reversible)."""
    trigger = f"{table}_append_only"
    arguments = ", ".join(f"'{column}'" for column in nullable)

    def forward(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(FUNCTION, params=None)  # no placeholders: its % are PL/pgSQL's
        schema_editor.execute(
            f"CREATE TRIGGER {trigger} BEFORE UPDATE OR DELETE ON {table}"
            f" FOR EACH ROW EXECUTE FUNCTION portal_append_only({arguments})"
        )

    def backward(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")

    return migrations.RunPython(forward, backward, elidable=False)


# --- The same rule in the ORM, for every database ---------------------------------------------


class AppendOnlyError(Exception):
    """A write that would change or remove a row of an append-only table."""


class AppendOnlyQuerySet(models.QuerySet):
    """Refuses bulk changes: QuerySet.update() and .delete() (and so bulk_update and the admin's
    bulk delete) never reach the database. On PostgreSQL the trigger refuses them anyway; on
    SQLite this is the guard."""

    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError(f"{self.model._meta.db_table} is append-only: rows cannot be changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{self.model._meta.db_table} is append-only: rows cannot be deleted")

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        raise AppendOnlyError(f"{self.model._meta.db_table} is append-only: rows cannot be changed")


class AppendOnlyModel(models.Model):
    """A row is written once: save() after the insert and delete() raise AppendOnlyError."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(f"{self._meta.db_table} is append-only: rows cannot be changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{self._meta.db_table} is append-only: rows cannot be deleted")
