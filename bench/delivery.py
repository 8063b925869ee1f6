"""Operation Encompass delivery: 10 000 signed alerts to local receivers vs a bare httpx loop.

Run: `DATABASE_URL=postgresql://... .venv/bin/python -m bench.delivery [--alerts 10000]`
(without DATABASE_URL the embedded PostgreSQL is used). Loopback only, bounded in time.

1. Intake: the 06:00 feed as batches through the intake service (one alert per child).
2. Baseline: a bare `httpx` async loop posting the same pre-signed bodies to the receivers
   with the same concurrency: the most a Python sender can do on this machine.
3. frontdoor: the real dispatcher (SKIP LOCKED claims, SSRF check, signing, evidence rows,
   retry state) run by several workers until every alert is delivered; each must be delivered
   before its school's deadline.
4. A receiver that refuses the first two tries of every message (503) gets everything within a
   compressed retry schedule before a deadline one minute away.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
from sqlalchemy import func, make_url, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifications.delivery.dispatch import active_secrets, deliver_due
from notifications.delivery.secretbox import encrypt
from notifications.delivery.transport import make_client
from notifications.intake.service import IntakeContext, ingest_batch
from notifications.settings import NotificationsSettings
from services import cli, db
from services.db import resolve_database_url, transaction
from services.models.notifications import Delivery, Endpoint, Notification, School
from services.settings import FrontdoorSettings
from services.webhooks.signing import generate_secret, webhook_headers

SCHOOLS = 50
CONCURRENCY = 64
WORKERS = 4
FEED_CHUNK = 500
# Bounds: no phase may run longer than this many seconds.
PHASE_LIMIT_SECONDS = 600
NOTIF_TABLES = (
    "notif_attempts, notif_deliveries, notif_ehe_tasks, notif_notifications, "
    "notif_incidents, notif_endpoints, notif_schools, notif_force_sharing"
)


@dataclass
class Receiver:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def receivers(
    count: int, fail_first: int = 0, hang_seconds: float = 0.0
) -> Iterator[list[Receiver]]:
    started: list[Receiver] = []
    env = {**os.environ, "BENCH_FAIL_FIRST": str(fail_first)}
    if hang_seconds:
        env["BENCH_HANG_SECONDS"] = str(hang_seconds)
    try:
        for _ in range(count):
            port = _free_port()
            command = [
                sys.executable, "-m", "uvicorn", "bench.delivery_receiver:make_app", "--factory",
                "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
                "--no-access-log",
            ]  # fmt: skip
            started.append(Receiver(port, subprocess.Popen(command, env=env)))
        yield started
    finally:
        for receiver in started:
            receiver.process.terminate()
            receiver.process.wait(timeout=10)


async def wait_ready(receiver: Receiver) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            try:
                await client.get(receiver.base + "/stats")
                return
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    raise RuntimeError("receiver did not start")


async def stats(receiver: Receiver) -> dict[str, int]:
    async with httpx.AsyncClient() as client:
        result: dict[str, int] = (await client.get(receiver.base + "/stats")).json()
        return result


async def reset(maker: async_sessionmaker[AsyncSession]) -> None:
    """Empty the delivery tables as the schema's owner: the application role may not TRUNCATE
    (least privilege), and the bench's sessions use that role."""
    del maker
    owner = make_url(resolve_database_url(FrontdoorSettings())).set(drivername="postgresql")
    conn = await asyncpg.connect(owner.render_as_string(hide_password=False))
    try:
        await conn.execute(f"TRUNCATE {NOTIF_TABLES} CASCADE")
    finally:
        await conn.close()


async def add_schools(
    maker: async_sessionmaker[AsyncSession],
    settings: NotificationsSettings,
    targets: list[Receiver],
    first_urn: int,
    count: int,
) -> list[str]:
    urns = [str(first_urn + i) for i in range(count)]
    async with transaction(maker) as session:
        for i, urn in enumerate(urns):
            session.add(
                School(
                    urn=urn,
                    council_id="demo",
                    name=f"Bench School {urn}",
                    terms=[],
                    closure_days=[],
                    dsl_email=f"dsl.{urn}@bench.example",
                    delivery_preference="webhook",
                )
            )
            await session.flush()
            session.add(
                Endpoint(
                    school_urn=urn,
                    url=f"{targets[i % len(targets)].base}/hooks/{urn}",
                    event_types=["encompass.notification.created"],
                    enabled=True,
                    consecutive_failures=0,
                    secret_encrypted=encrypt(settings.encryption_key, generate_secret()),
                )
            )
    return urns


def feed(count: int, urns: list[str], tag: str) -> list[dict[str, object]]:
    at = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    return [
        {
            "police_reference": f"BENCH-{tag}-{i:06d}",
            "incident_at": at,
            "children": [
                {"given_name": "Child", "family_name": f"N{i}", "school_urn": urns[i % len(urns)]}
            ],
        }
        for i in range(count)
    ]


async def intake(
    maker: async_sessionmaker[AsyncSession],
    settings: NotificationsSettings,
    items: list[dict[str, object]],
) -> float:
    started = time.perf_counter()
    for offset in range(0, len(items), FEED_CHUNK):
        async with transaction(maker) as session:
            ctx = IntakeContext(
                session=session,
                settings=settings,
                council_id="demo",
                force_id="bench-police",
                actor=None,
                source="batch",
            )
            result = await ingest_batch(ctx, items[offset : offset + FEED_CHUNK])
            assert result.rejected == 0
    return time.perf_counter() - started


async def signed_requests(
    maker: async_sessionmaker[AsyncSession], settings: NotificationsSettings
) -> list[tuple[str, dict[str, str], bytes]]:
    """The exact bodies the dispatcher will send, signed the same way (for the baseline)."""
    now = datetime.now(UTC)
    async with transaction(maker) as session:
        rows = (
            await session.execute(
                select(Delivery, Endpoint).join(Endpoint, Endpoint.id == Delivery.endpoint_id)
            )
        ).all()
    out = []
    for delivery, endpoint in rows:
        body = delivery.body.encode()
        secrets = list(active_secrets(endpoint, settings.encryption_key, now))
        headers = webhook_headers(secrets, delivery.message_id, int(time.time()), body)
        out.append((endpoint.url, headers, body))
    return out


async def baseline(requests: list[tuple[str, dict[str, str], bytes]]) -> tuple[float, int]:
    gate = asyncio.Semaphore(CONCURRENCY)
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(limits=limits, timeout=15.0) as client:

        async def post(url: str, headers: dict[str, str], body: bytes) -> bool:
            async with gate:
                response = await client.post(url, content=body, headers=headers)
                return 200 <= response.status_code < 300

        started = time.perf_counter()
        results = await asyncio.wait_for(
            asyncio.gather(*(post(*r) for r in requests)), PHASE_LIMIT_SECONDS
        )
        return time.perf_counter() - started, sum(results)


async def pending(maker: async_sessionmaker[AsyncSession]) -> int:
    async with transaction(maker) as session:
        count = await session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.status == "pending")
        )
        return int(count or 0)


async def run_dispatchers(
    maker: async_sessionmaker[AsyncSession], settings: NotificationsSettings
) -> float:
    started = time.perf_counter()
    async with make_client(settings) as client:

        async def worker() -> None:
            while time.perf_counter() - started < PHASE_LIMIT_SECONDS:
                if await deliver_due(maker, settings, client) == 0:
                    if await pending(maker) == 0:
                        return
                    await asyncio.sleep(0.05)

        await asyncio.gather(*(worker() for _ in range(WORKERS)))
    return time.perf_counter() - started


async def outcome(maker: async_sessionmaker[AsyncSession]) -> tuple[int, int, int, int]:
    """(notifications, delivered, delivered before the deadline, max attempts per delivery)."""
    async with transaction(maker) as session:
        total = await session.scalar(select(func.count()).select_from(Notification))
        delivered = await session.scalar(
            select(func.count()).where(Notification.delivered_at.is_not(None))
        )
        in_time = await session.scalar(
            select(func.count()).where(Notification.delivered_at <= Notification.deadline_at)
        )
        attempts = await session.scalar(select(func.max(Delivery.attempts)))
    return int(total or 0), int(delivered or 0), int(in_time or 0), int(attempts or 0)


async def throughput(maker: async_sessionmaker[AsyncSession], alerts: int) -> dict[str, float]:
    settings = NotificationsSettings(
        delivery_concurrency=CONCURRENCY, delivery_batch_size=500, log_level="WARNING"
    )
    with receivers(2) as targets:
        for target in targets:
            await wait_ready(target)
        await reset(maker)
        urns = await add_schools(maker, settings, targets, 900000, SCHOOLS)
        intake_s = await intake(maker, settings, feed(alerts, urns, "T"))
        requests = await signed_requests(maker, settings)
        # The baseline runs before and after, so drift in the machine's load hits both sides.
        before_s, before_ok = await baseline(requests)
        ours_s = await run_dispatchers(maker, settings)
        after_s, after_ok = await baseline(requests)
        total, delivered, in_time, _ = await outcome(maker)
        received = [await stats(t) for t in targets]
    print(f"alerts: {total}  intake: {intake_s:.2f} s ({total / intake_s:,.0f} alerts/s)")
    base_rate = (before_ok / before_s + after_ok / after_s) / 2
    print(
        f"baseline (bare httpx loop): before {before_s:.2f} s ({before_ok / before_s:,.0f}/s), "
        f"after {after_s:.2f} s ({after_ok / after_s:,.0f}/s), mean {base_rate:,.0f}/s"
    )
    print(f"frontdoor dispatcher ({WORKERS} workers): {ours_s:.2f} s  {delivered / ours_s:,.0f}/s")
    ratio = (delivered / ours_s) / base_rate
    print(f"ratio frontdoor/baseline: {ratio:.2f}x (goal >= 0.5x)")
    print(f"delivered: {delivered}/{total}  before deadline: {in_time}/{total}")
    print(f"receivers saw: {json.dumps(received)}")
    return {"ratio": ratio, "delivered": delivered, "total": total, "in_time": in_time}


async def flaky(maker: async_sessionmaker[AsyncSession], alerts: int) -> dict[str, float]:
    settings = NotificationsSettings(
        delivery_concurrency=CONCURRENCY,
        delivery_batch_size=500,
        retry_schedule=(0, 0.5, 1, 2, 4),
        retry_repeat_seconds=5,
        fallback_lead_seconds=10,
    )
    with receivers(1, fail_first=2) as targets:
        await wait_ready(targets[0])
        await reset(maker)
        urns = await add_schools(maker, settings, targets, 950000, 10)
        await intake(maker, settings, feed(alerts, urns, "F"))
        deadline = datetime.now(UTC) + timedelta(minutes=1)
        async with transaction(maker) as session:
            await session.execute(update(Notification).values(deadline_at=deadline))
            await session.execute(
                update(Delivery).values(
                    deadline_at=deadline, fallback_at=deadline - timedelta(seconds=10)
                )
            )
        elapsed = await run_dispatchers(maker, settings)
        total, delivered, in_time, most = await outcome(maker)
        seen = await stats(targets[0])
    print(
        f"flaky receiver (503 to the first 2 tries of each): {delivered}/{total} delivered in "
        f"{elapsed:.1f} s, {in_time}/{total} before a deadline 60 s out; "
        f"max attempts {most}; receiver refused {seen['refused']}"
    )
    return {"delivered": delivered, "total": total, "in_time": in_time}


async def run(alerts: int, flaky_alerts: int) -> int:
    cli.migrate()
    maker = db.get_sessionmaker()
    try:
        main_run = await throughput(maker, alerts)
        flaky_run = await flaky(maker, flaky_alerts)
        await reset(maker)
    finally:
        await db.get_engine().dispose()
    ok = (
        main_run["ratio"] >= 0.5
        and main_run["in_time"] == main_run["total"]
        and flaky_run["in_time"] == flaky_run["total"]
    )
    print("RESULT:", "goal met" if ok else "goal NOT met")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--flaky-alerts", type=int, default=1_000)
    args = parser.parse_args(argv)
    return asyncio.run(run(args.alerts, args.flaky_alerts))


if __name__ == "__main__":
    sys.exit(main())
