"""Run Alembic as a subprocess against a given database (the tests and the migration check)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class MigrationFailed(RuntimeError):
    """An Alembic command failed; the message carries its stderr."""


def alembic(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    result = subprocess.run(
        [sys.executable, "-m", "alembic", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        # Alembic's own message (the failing migration and why) is the useful part.
        raise MigrationFailed(f"alembic {' '.join(args)} failed:\n{result.stderr[-4000:]}")
    return result


def check_server_url() -> str:
    """TEST_DATABASE_URL's server when set, else the embedded one the tests use."""
    from services.embedded_db import start_embedded

    return os.environ.get("TEST_DATABASE_URL") or start_embedded(
        ROOT / ".frontdoor" / "test-pgdata"
    )
