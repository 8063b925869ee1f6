"""The walking skeleton's harness: worker processes, a local webhook receiver, bounded waits.

Workers run as separate `frontdoor worker NAME` processes against the test database; the
APIs run in-process over httpx's ASGI transport with their real session dependency, so every
request commits exactly as in production and the workers see the rows.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx
import pytest
from fastapi import FastAPI

from services.registry import APPS, load
from tests.database import ROOT

T = TypeVar("T")

# Bounds, never expectations: a healthy run takes a fraction of these.
EVENT_WAIT_SECONDS = 60.0
STOP_WAIT_SECONDS = 20.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def frontdoor_command(*args: str) -> list[str]:
    """The installed `frontdoor` entry point (the module itself where it is not installed)."""
    script = Path(sys.executable).with_name("frontdoor")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "services.cli", *args]


def process_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
    env.update(
        DATABASE_URL=database_url,
        ENVIRONMENT="test",
        PYTHONPATH=str(ROOT),  # this checkout's code, whatever is installed
        LOG_LEVEL="INFO",
        **extra,
    )
    return env


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-6000:]


@dataclass
class Processes:
    """`frontdoor` processes started by a test, always stopped (SIGINT, then SIGKILL)."""

    database_url: str
    logs: Path
    running: list[Process] = field(default_factory=list)

    def start(self, *args: str, **env: str) -> Process:
        name = "-".join(args).replace("/", "_")
        log_path = self.logs / f"{name}.log"
        log = log_path.open("wb")
        popen = subprocess.Popen(
            frontdoor_command(*args),
            cwd=ROOT,
            env=process_env(self.database_url, **env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        process = Process(name=name, popen=popen, log_path=log_path, log=log)
        self.running.append(process)
        return process

    def worker(self, service: str) -> Process:
        return self.start("worker", service)

    def run_to_completion(self, *args: str, timeout: float = 120) -> str:
        result = subprocess.run(
            frontdoor_command(*args),
            cwd=ROOT,
            env=process_env(self.database_url),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def interrupt(self, process: Process, timeout: float = STOP_WAIT_SECONDS) -> int:
        """Ctrl-C, then the exit code; killed (and reported) if it does not stop in time."""
        if process.popen.poll() is None:
            process.popen.send_signal(signal.SIGINT)
        try:
            return process.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.popen.kill()
            process.popen.wait(timeout=timeout)
            raise AssertionError(f"{process.name} ignored Ctrl-C:\n{process.output()}") from None

    def stop_all(self) -> None:
        for process in self.running:
            if process.popen.poll() is None:
                process.popen.send_signal(signal.SIGINT)
        for process in self.running:
            try:
                process.popen.wait(timeout=STOP_WAIT_SECONDS)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait(timeout=STOP_WAIT_SECONDS)
            process.log.close()

    def report(self) -> str:
        """Every process's recent output: attached to a failed wait's message."""
        return "\n".join(f"--- {p.name} ---\n{p.output()}" for p in self.running)


@pytest.fixture
def processes(committed_db: str, tmp_path: Path) -> Iterator[Processes]:
    procs = Processes(database_url=committed_db, logs=tmp_path)
    try:
        yield procs
    finally:
        procs.stop_all()


@pytest.fixture
def demo_council(processes: Processes) -> Processes:
    """The demo council (calendar, rule set, schools), loaded by the real command."""
    processes.run_to_completion("seed-demo")
    return processes


async def eventually(
    check: Callable[[], Awaitable[T | None]],
    *,
    what: str,
    processes: Processes,
    timeout: float = EVENT_WAIT_SECONDS,
) -> T:
    """Poll `check` until it returns something truthy; fail with the workers' logs if not."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        result = await check()
        if result:
            return result
        for process in processes.running:
            if process.popen.poll() is not None:
                raise AssertionError(
                    f"{process.name} exited while waiting for {what}:\n{processes.report()}"
                )
        await asyncio.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}:\n{processes.report()}")


ApiClients = dict[str, httpx.AsyncClient]


@pytest.fixture
async def apis(committed_db: str) -> AsyncIterator[ApiClients]:
    """Each service's real app (real commits) behind an in-process client."""
    clients: dict[str, httpx.AsyncClient] = {}
    for name, target in APPS.items():
        app: FastAPI = load(target)()
        clients[name] = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://frontdoor.test"
        )
    try:
        yield clients
    finally:
        for client in clients.values():
            await client.aclose()


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    """A school's webhook endpoint: a real HTTP server on 127.0.0.1 that answers 204."""

    url: str
    received: list[Received] = field(default_factory=list)


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    state = WebhookReceiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            state.received.append(Received(headers=headers, body=body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/frontdoor"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def pretty(response: httpx.Response) -> str:
    try:
        return f"{response.status_code} {json.dumps(response.json(), indent=1)[:3000]}"
    except ValueError:
        return f"{response.status_code} {response.text[:3000]}"
