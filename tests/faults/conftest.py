"""Fault tests: each test gets its own throwaway PostgreSQL, which it may stop, restart or kill.

The cluster is made with the binaries of the embedded `pgserver` wheel (the same PostgreSQL
16 the product embeds), on a free loopback port and a socket directory under a temporary
directory, with `fsync=off` (durability across a power cut is not what these tests are about;
a killed server still loses nothing that was committed, because the OS keeps the writes).
They are marked `faults`: `make test` leaves them out, `make test-faults` runs them.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.db import create_engine
from tests.database import alembic
from tests.e2e.conftest import Process, Processes, free_port

FAULTS_DIR = Path(__file__).resolve().parent
# Bounds, never expectations.
SERVER_WAIT_SECONDS = 180


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if FAULTS_DIR in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.faults)


def _bin(name: str) -> str:
    # Found without importing pgserver (its import warns about XDG_RUNTIME_DIR).
    spec = importlib.util.find_spec("pgserver")
    assert spec is not None
    assert spec.submodule_search_locations
    return str(Path(spec.submodule_search_locations[0]) / "pginstall" / "bin" / name)


# The user the embedded server (pgserver) runs PostgreSQL as when started by root.
SERVER_USER = "pgserver"


def _ensure_server_user() -> None:
    """Create the server's user when missing: on a clean machine where the suite ran against
    the machine's PostgreSQL (TEST_DATABASE_URL), the embedded server never created it."""
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--shell", "/usr/sbin/nologin", SERVER_USER],
            check=True,
            capture_output=True,
            timeout=30,
        )


class Cluster:
    """A PostgreSQL server of the test's own: start, stop (fast), crash (SIGKILL), restart."""

    def __init__(self, root: Path, *, max_connections: int = 60) -> None:
        self.root, self.data, self.port = root, root / "data", free_port()
        self.log = root / "postgres.log"
        self.max_connections = max_connections
        # PostgreSQL refuses to run as root; the pgserver wheel's own user runs it then.
        self._as: dict[str, Any] = {"user": SERVER_USER} if os.geteuid() == 0 else {}
        if self._as:
            _ensure_server_user()
            shutil.chown(root, user=SERVER_USER)
        self._run(
            _bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8"
        )

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run(
            args, check=True, capture_output=True, timeout=SERVER_WAIT_SECONDS, **self._as
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            f"-c max_connections={self.max_connections} -c synchronous_commit=on"
        )
        self._run(
            _bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start"
        )

    def stop(self) -> None:
        """A clean shutdown (connections are closed by the server)."""
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self, down_for: float = 1.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()

    def postmaster_pid(self) -> int | None:
        pid_file = self.data / "postmaster.pid"
        with contextlib.suppress(FileNotFoundError, ValueError):
            return int(pid_file.read_text().splitlines()[0])
        return None

    def _children(self, pid: int) -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError, IndexError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    found.append(int(entry.name))
        return found

    def kill(self) -> None:
        """A crash: SIGKILL to the postmaster and each of its backends (by their ids)."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        children = self._children(pid)
        for victim in (pid, *children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        for victim in (pid, *children):
            for _ in range(200):
                if not Path(f"/proc/{victim}").exists():
                    break
                time.sleep(0.05)

    def running(self) -> bool:
        pid = self.postmaster_pid()
        return pid is not None and Path(f"/proc/{pid}").exists()


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    # A short path: a Unix socket's path must stay under ~100 bytes.
    root = Path(tempfile.mkdtemp(prefix="fd-faults-"))
    server = Cluster(root)
    server.start()
    try:
        alembic("upgrade", "head", url=server.url)
        yield server
    finally:
        if server.running():
            with contextlib.suppress(subprocess.SubprocessError):
                subprocess.run(
                    [_bin("pg_ctl"), "-D", str(server.data), "-m", "immediate", "-w", "stop"],
                    capture_output=True,
                    timeout=SERVER_WAIT_SECONDS,
                    **server._as,
                )
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def own_cluster(*, max_connections: int) -> Iterator[Cluster]:
    """A migrated server like the `cluster` fixture's, with a connection limit of the test's
    choosing (a test that exhausts it); always stopped and removed."""
    root = Path(tempfile.mkdtemp(prefix="fd-faults-"))
    server = Cluster(root, max_connections=max_connections)
    server.start()
    try:
        alembic("upgrade", "head", url=server.url)
        yield server
    finally:
        if server.running():
            with contextlib.suppress(subprocess.SubprocessError):
                server._run(_bin("pg_ctl"), "-D", str(server.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def maker(cluster: Cluster) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the test's own server, for tests that run the dispatcher in-process."""
    engine = create_engine(cluster.url, pool_size=4)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


@pytest.fixture
def fprocesses(cluster: Cluster, tmp_path: Path) -> Iterator[Processes]:
    """`frontdoor` processes on the test's own server, always stopped."""
    procs = Processes(database_url=cluster.url, logs=tmp_path)
    try:
        yield procs
    finally:
        procs.stop_all()


def start_api(procs: Processes, service: str, port: int, **env: str) -> Process:
    """`frontdoor api SERVICE` on a loopback port, once it answers /healthz."""
    process = procs.start("api", service, "--port", str(port), **env)
    deadline = time.monotonic() + SERVER_WAIT_SECONDS
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise AssertionError(f"{service} API exited:\n{process.output()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        time.sleep(0.1)
    raise AssertionError(f"{service} API did not start:\n{process.output()}")


def killed(procs: Processes, process: Process) -> None:
    """SIGKILL one of the test's processes (by its id) and forget it: it was meant to die."""
    process.popen.kill()
    process.popen.wait(timeout=SERVER_WAIT_SECONDS)
    procs.running.remove(process)
    process.log.close()
