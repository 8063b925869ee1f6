"""The consumer loop: claim due events with SKIP LOCKED, handle each in one transaction.

Each (consumer, event) row is claimed with `FOR UPDATE SKIP LOCKED`, so any number of worker
processes share the work. The handler runs inside a savepoint of the claiming transaction:
on success the row is marked done in the same commit as the handler's effects (exactly-once
effects on at-least-once delivery); on failure the savepoint rolls back and the attempt count,
the error class and the next attempt time are committed instead, so retries survive restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg
import structlog
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.db import transaction
from services.events.outbox import NOTIFY_CHANNEL
from services.models.platform import EventConsumption, OutboxEvent

log = structlog.get_logger(__name__)

Handler = Callable[[AsyncSession, OutboxEvent], Awaitable[None]]
PeriodicJob = Callable[[async_sessionmaker[AsyncSession]], Awaitable[int]]

# Failed events retry after 5 s, 30 s, 2 min, 10 min, 30 min, then hourly; after this many
# attempts the row is parked as "dead" for an operator to look at (never silently dropped).
RETRY_DELAYS = (5, 30, 120, 600, 1800, 3600)
MAX_ATTEMPTS = 12


def retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1])


@dataclass(frozen=True)
class Consumer:
    """A named subscriber: the handler for each topic it receives."""

    name: str
    handlers: dict[str, Handler]


@dataclass
class Periodic:
    """A job the worker runs every `every` seconds (clock scans, delivery schedules)."""

    name: str
    every: float
    job: PeriodicJob
    last_run: float = field(default=-1e9)


async def process_one(maker: async_sessionmaker[AsyncSession], consumer: Consumer) -> bool:
    """Claim and handle one due event; False when none is due."""
    async with transaction(maker) as session:
        now = datetime.now(UTC)
        claimed = (
            await session.execute(
                select(EventConsumption, OutboxEvent)
                .join(OutboxEvent, OutboxEvent.id == EventConsumption.event_id)
                .where(
                    EventConsumption.consumer == consumer.name,
                    EventConsumption.status == "pending",
                    EventConsumption.next_attempt_at <= now,
                )
                .order_by(EventConsumption.next_attempt_at, OutboxEvent.created_at)
                .limit(1)
                .with_for_update(of=EventConsumption, skip_locked=True)
            )
        ).first()
        if claimed is None:
            return False
        row, event = claimed
        row.attempts += 1
        handler = consumer.handlers.get(event.topic)
        try:
            async with session.begin_nested():
                if handler is not None:
                    await handler(session, event)
        except Exception as exc:
            _record_failure(row, exc, now)
            log.warning(
                "event_failed",
                consumer=consumer.name,
                topic=event.topic,
                event_id=str(event.id),
                attempts=row.attempts,
                error=type(exc).__name__,
            )
            return True
        row.status, row.processed_at, row.last_error = "done", now, None
        log.info(
            "event_processed", consumer=consumer.name, topic=event.topic, event_id=str(event.id)
        )
        return True


def _record_failure(row: EventConsumption, exc: Exception, now: datetime) -> None:
    # The class name only: an exception message may quote a child's details.
    row.last_error = type(exc).__name__
    if row.attempts >= MAX_ATTEMPTS:
        row.status = "dead"
    else:
        row.next_attempt_at = now + retry_delay(row.attempts)


async def drain(
    maker: async_sessionmaker[AsyncSession], consumers: Sequence[Consumer], limit: int = 1000
) -> int:
    """Handle every due event for these consumers (up to `limit`); the count handled."""
    handled = 0
    for consumer in consumers:
        while handled < limit and await process_one(maker, consumer):
            handled += 1
    return handled


def _listen_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class Worker:
    """Runs consumers and periodic jobs until stopped; wakes on NOTIFY or every `poll` s."""

    def __init__(
        self,
        *,
        name: str,
        maker: async_sessionmaker[AsyncSession],
        database_url: str,
        consumers: Sequence[Consumer] = (),
        periodic: Sequence[Periodic] = (),
        poll: float = 2.0,
    ) -> None:
        self.name, self.maker, self.database_url = name, maker, database_url
        self.consumers, self.periodic, self.poll = list(consumers), list(periodic), poll
        self._wake = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        listener = await self._listen()
        log.info("worker_started", worker=self.name)
        try:
            while not stop.is_set():
                await self.tick()
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wait(stop), timeout=self.poll)
        finally:
            if listener is not None:
                await listener.close()
            log.info("worker_stopped", worker=self.name)

    async def tick(self) -> int:
        """One pass: every due event, then every due periodic job (each error contained)."""
        done = await drain(self.maker, self.consumers)
        loop_time = asyncio.get_running_loop().time()
        for job in self.periodic:
            if loop_time - job.last_run < job.every:
                continue
            job.last_run = loop_time
            try:
                done += await job.job(self.maker)
            except Exception as exc:
                log.error("periodic_job_failed", job=job.name, error=type(exc).__name__)
        return done

    async def _wait(self, stop: asyncio.Event) -> None:
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()

    async def _listen(self) -> asyncpg.Connection | None:
        if not self.consumers:
            return None
        conn: asyncpg.Connection = await asyncpg.connect(_listen_dsn(self.database_url))
        await conn.add_listener(NOTIFY_CHANNEL, lambda *_: self._wake.set())
        return conn
