"""Helpers of the intake benchmark: start a uvicorn server, drive load, summarise latencies."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """One uvicorn process we started (and stop by its own pid)."""

    process: subprocess.Popen[bytes]
    base_url: str

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def start_server(factory: str, env: dict[str, str]) -> Server:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        factory,
        "--factory",
        "--host",
        HOST,
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    process = subprocess.Popen(
        command, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return Server(process, f"http://{HOST}:{port}")


async def wait_ready(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(f"server exited with {server.process.returncode}")
            try:
                if (await client.get(f"{server.base_url}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("server did not become ready")


@dataclass
class Result:
    name: str
    completed: int
    failed: int
    seconds: float
    latencies_ms: list[float]

    @property
    def throughput(self) -> float:
        return self.completed / self.seconds if self.seconds else 0.0

    def percentile(self, p: int) -> float:
        if len(self.latencies_ms) < 2:
            return self.latencies_ms[0] if self.latencies_ms else 0.0
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[p - 1]


# uvicorn closes a keep-alive connection idle for 5 s: one idle longer is opened again.
IDLE_RECONNECT_SECONDS = 4.0


class Connection:
    """A minimal keep-alive HTTP/1.1 client: the load generator must cost far less than the
    servers it measures (httpx spends ~3 ms of CPU per request, more than the baseline)."""

    def __init__(self, base_url: str) -> None:
        host_port = base_url.removeprefix("http://")
        self.host, _, port = host_port.partition(":")
        self.port = int(port)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.last_used = 0.0

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        now = time.monotonic()
        if self.writer is not None and now - self.last_used > IDLE_RECONNECT_SECONDS:
            self.close()
        self.last_used = now
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        lines = [f"POST {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


@dataclass
class Target:
    """Where the load goes and what it sends: the bodies in turn, with a fresh
    Idempotency-Key on each request when asked; `expect` says which statuses succeeded."""

    url: str
    bodies: list[dict[str, Any]]
    headers: dict[str, str]
    idempotency_keys: bool = False
    expect: Callable[[int], bool] = lambda status: status == 201

    def __post_init__(self) -> None:
        host_port, _, rest = self.url.removeprefix("http://").partition("/")
        self.base_url, self.path = "http://" + host_port, "/" + rest
        self.encoded = [json.dumps(b).encode() for b in self.bodies]

    def connection(self) -> Connection:
        return Connection(self.base_url)

    async def post(self, connection: Connection, i: int) -> int:
        """The `i`-th request's status (at most 30 s)."""
        headers = self.headers
        if self.idempotency_keys:
            headers = {**headers, "Idempotency-Key": uuid.uuid4().hex}
        body = self.encoded[i % len(self.encoded)]
        return await asyncio.wait_for(connection.post(self.path, body, headers), timeout=30)


async def drive(
    name: str, target: Target, *, requests: int, concurrency: int, time_limit: float
) -> Result:
    """`requests` POSTs from `concurrency` connections, stopping early at `time_limit` s."""
    issued = 0
    latencies: list[float] = []
    failed = 0
    started = time.perf_counter()
    deadline = started + time_limit

    async def worker() -> None:
        nonlocal issued, failed
        connection = target.connection()
        try:
            while issued < requests and time.perf_counter() < deadline:
                issued += 1
                t0 = time.perf_counter()
                status = await target.post(connection, issued - 1)
                if target.expect(status):
                    latencies.append((time.perf_counter() - t0) * 1000)
                else:
                    failed += 1
        finally:
            connection.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Result(name, len(latencies), failed, time.perf_counter() - started, latencies)


async def drive_at_rate(
    name: str,
    target: Target,
    *,
    rate: float,
    requests: int,
    concurrency: int,
    time_limit: float,
) -> Result:
    """Open loop: `requests` POSTs sent at `rate` per second, evenly spaced, over at most
    `concurrency` keep-alive connections, whatever the server's pace. Each latency runs from
    the moment the request was due, so time spent waiting for a free connection counts (no
    coordinated omission): past the server's capacity, latencies grow without bound."""
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(concurrency):
        idle.put_nowait(target.connection())
    latencies: list[float] = []
    failed = 0
    started = time.perf_counter()

    async def one(i: int, due: float) -> None:
        nonlocal failed
        connection = await idle.get()
        try:
            status = await target.post(connection, i)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            # A broken or timed-out exchange counts as failed; its connection is not reused.
            failed += 1
            connection.close()
        else:
            if target.expect(status):
                latencies.append((time.perf_counter() - due) * 1000)
            else:
                failed += 1
        finally:
            idle.put_nowait(connection)

    tasks = []
    for i in range(requests):
        due = started + i / rate
        if due - started > time_limit:
            break
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    while not idle.empty():
        idle.get_nowait().close()
    return Result(name, len(latencies), failed, time.perf_counter() - started, latencies)
