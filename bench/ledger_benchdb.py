"""A throwaway PostgreSQL database for the usage and expiry benchmarks, created and dropped per run."""

import os
import sys
from contextlib import contextmanager
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")


@contextmanager
def throwaway_database(name: str, *, keep: bool = False, reuse: bool = False):
    """Create `name`, point Django at it, migrate, yield; drop it afterwards whatever happened.

    `reuse`: an existing database (kept by an earlier run with `keep`) is migrated, not created."""
    if not reuse:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = f"{SERVER}/{name}"
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("VAR_DIR", str(ROOT / "var" / "bench"))
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    try:
        call_command("migrate", verbosity=0)
        yield
    finally:
        connections.close_all()
        if not keep:
            with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def cards_create(count: int, *, allowance: int, start, expires_at, prefix: str = "89377") -> None:
    """`count` cards topped up at `start` until `expires_at`, ledger and cache agreeing (set-based)."""
    from django.db import connection

    from usage.models import Card

    Card.objects.bulk_create(
        [
            Card(
                iccid=f"{prefix}{number:014d}",
                data_remaining=allowance,
                expires_at=expires_at,
                period_started_at=start,
                period_allowance=allowance,
                created_at=start,
            )
            for number in range(count)
        ],
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO usage_ledgerentry (card_id, kind, data_delta, data_after, expires_before,"
            " expires_after, order_id, reason, created_at)"
            " SELECT id, 'topup', data_remaining, data_remaining, NULL, expires_at, id, '', %s"
            " FROM usage_card WHERE iccid LIKE %s",
            [start, f"{prefix}%"],
        )
        cursor.execute("ANALYZE")
