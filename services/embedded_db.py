"""The embedded PostgreSQL: a real PostgreSQL 16 from the `pgserver` wheel, for laptops and tests.

Used only when no `DATABASE_URL` is set. Same dialect, SQL and migrations as production; the
server listens on a Unix socket inside its data directory, so it never takes a TCP port.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

_servers: dict[Path, Any] = {}


def start_embedded(data_dir: str | Path) -> str:
    """Start (or reuse) the embedded server and return a libpq URL for its `postgres` database."""
    path = Path(data_dir).resolve()
    if path in _servers:
        return str(_servers[path].get_uri())
    path.mkdir(parents=True, exist_ok=True)
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        from pgserver.postgres_server import get_server

        server = get_server(path, cleanup_mode="stop")
    _servers[path] = server
    return str(server.get_uri())


def stop_embedded() -> None:
    """Stop the servers this process started (data is kept on disk for next time)."""
    for server in _servers.values():
        server.cleanup()
    _servers.clear()
