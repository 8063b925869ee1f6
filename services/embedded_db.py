"""The embedded PostgreSQL: a real PostgreSQL 16 from the `pgserver` wheel, for laptops and tests.

Used only when no `DATABASE_URL` is set. Same dialect, SQL and migrations as production; the
server listens on a Unix socket inside its data directory, so it never takes a TCP port.
Several processes may share one data directory (the all-in-one `run`, or `api` and `worker`
started side by side): pgserver keeps the server up until the last of them exits.

`python -m services.embedded_db wipe [DIR]` stops a server left running there and deletes
its data (what `make reset` does).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

_servers: dict[Path, Any] = {}

DEFAULT_DIR = Path(".frontdoor")


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


def wipe(root: str | Path = DEFAULT_DIR) -> list[Path]:
    """Stop any server still running on a data directory under `root`, then delete `root`."""
    root = Path(root)
    stopped: list[Path] = []
    for pid_file in root.glob("**/postmaster.pid"):
        data_dir = pid_file.parent
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pgserver import _commands

        pg_ctl = vars(_commands)["pg_ctl"]  # generated at import time, so unknown to mypy

        # pgserver runs the server as its own `pgserver` user when started by root.
        as_user = {"user": "pgserver"} if os.geteuid() == 0 else {}
        try:
            pg_ctl(["-m", "fast", "-w", "stop"], pgdata=data_dir, timeout=60, **as_user)
        except (subprocess.SubprocessError, OSError):
            continue  # not running (a stale pid file): nothing to stop
        stopped.append(data_dir)
    shutil.rmtree(root, ignore_errors=True)
    return stopped


def _main(argv: list[str]) -> int:
    if not argv or argv[0] != "wipe":
        sys.stderr.write("usage: python -m services.embedded_db wipe [DIR]\n")
        return 2
    root = Path(argv[1]) if len(argv) > 1 else DEFAULT_DIR
    for data_dir in wipe(root):
        sys.stdout.write(f"stopped the embedded PostgreSQL in {data_dir}\n")
    sys.stdout.write(f"wiped {root}\n")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
