"""`alembic upgrade head`, `alembic check`, then base -> head -> base -> head on a scratch database.

Run by `make test` before pytest. Uses TEST_DATABASE_URL's server when set, the embedded
PostgreSQL otherwise; the scratch database is created and dropped here.
"""

from __future__ import annotations

import sys

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from services.db import sync_url
from services.tools.alembic_cli import alembic, check_server_url


def _admin_execute(url: str, statement: str) -> None:
    engine = create_engine(sync_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(statement))
    engine.dispose()


def main() -> int:
    server = check_server_url()
    # Named after the test database, so parallel checkouts on one server do not collide.
    scratch_name = f"{make_url(server).database or 'frontdoor'}_migration_check"
    scratch = make_url(server).set(database=scratch_name).render_as_string(hide_password=False)
    _admin_execute(server, f'DROP DATABASE IF EXISTS "{scratch_name}" WITH (FORCE)')
    _admin_execute(server, f'CREATE DATABASE "{scratch_name}"')
    try:
        for step in (
            ("upgrade", "head"),
            ("check",),
            ("downgrade", "base"),
            ("upgrade", "head"),
            ("check",),
        ):
            result = alembic(*step, url=scratch)
            print(f"alembic {' '.join(step)}: ok {result.stdout.strip()}")
    finally:
        _admin_execute(server, f'DROP DATABASE IF EXISTS "{scratch_name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
