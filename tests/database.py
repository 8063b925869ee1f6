"""Test database set-up: TEST_DATABASE_URL when set, the embedded PostgreSQL otherwise."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import create_engine, text

from services.db import sync_url
from services.embedded_db import start_embedded
from services.tools.alembic_cli import MigrationFailed, alembic

ROOT = Path(__file__).resolve().parent.parent

__all__ = ["MigrationFailed", "alembic", "reset_schema", "test_database_url", "truncate_all"]


def test_database_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return start_embedded(ROOT / ".frontdoor" / "test-pgdata")


def reset_schema(url: str) -> None:
    """Drop everything and migrate to head: every run starts from the real migrations."""
    engine = create_engine(sync_url(url))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    alembic("upgrade", "head", url=url)


def truncate_all(url: str) -> None:
    """Empty every table but Alembic's (for tests whose workers must see committed rows)."""
    engine = create_engine(sync_url(url))
    with engine.begin() as conn:
        tables = (
            conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version'"
                )
            )
            .scalars()
            .all()
        )
        if tables:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
    engine.dispose()
