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
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import asyncpg
import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.db import libpq_url, transaction
from services.events.outbox import NOTIFY_CHANNEL
from services.logging import reset_request_id, set_request_id
from services.models.platform import EventConsumption, OutboxEvent
from services.retry import RetryPolicy

log = structlog.get_logger(__name__)

Handler = Callable[[AsyncSession, OutboxEvent], Awaitable[None]]
PeriodicJob = Callable[[async_sessionmaker[AsyncSession]], Awaitable[int]]

# Failed events retry after 5 s, 30 s, 2 min, 10 min, 30 min, then hourly (steps[n] is the
# wait after n attempts; the first attempt is at once); after this many attempts the row is
# parked as "dead" for an operator to look at (never silently dropped). No jitter: the
# database's clock judges "due" and workers claim with SKIP LOCKED, so nothing stampedes.
EVENT_RETRY = RetryPolicy(steps=(0, 5, 30, 120, 600, 1800), repeat=3600, jitter=0.0)
MAX_ATTEMPTS = 12


def retry_delay(attempts: int) -> timedelta:
    return EVENT_RETRY.delay(attempts)


@dataclass(frozen=True)
class Consumer:
    """A named subscriber: the handler for each topic it receives."""

    name: str
    handlers: dict[str, Handler]
    # After this many failed attempts the event is parked as "dead" for an operator.
    max_attempts: int = MAX_ATTEMPTS


@dataclass
class Periodic:
    """A job the worker runs every `every` seconds (clock scans, delivery schedules)."""

    name: str
    every: float
    job: PeriodicJob
    last_run: float = field(default=-1e9)
    backoff: Backoff = field(default_factory=lambda: Backoff())


# While the database is away a worker waits 0.5 s, then 1, 2, 4 ... up to 30 s between tries:
# a restart (seconds) is noticed at once, a long outage costs one try every 30 s.
BACKOFF_FIRST_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 30.0


@dataclass
class Backoff:
    """Consecutive failures of one thing: how long to wait, and whether to log this one.

    Only the 1st, 2nd, 4th, 8th ... failure in a row is logged (with the count), so an hour's
    outage is a dozen lines, not thousands; the first success after it is logged once.
    """

    failures: int = 0

    def failed(self) -> tuple[float, bool]:
        """(seconds to wait before the next try, whether to log this failure)."""
        self.failures += 1
        delay = min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2 ** min(self.failures - 1, 16))
        return delay, self.failures & (self.failures - 1) == 0

    def succeeded(self) -> int:
        """The failures in a row that this success ends (0 when there were none)."""
        ended, self.failures = self.failures, 0
        return ended


class NoHandler(LookupError):
    """A consumer is subscribed to a topic it has no handler for (a deployment mismatch)."""


async def process_one(maker: async_sessionmaker[AsyncSession], consumer: Consumer) -> bool:
    """Claim and handle one due event; False when none is due.

    Due-ness uses the database's clock, never the worker's, so workers on machines with
    skewed clocks agree on what is due.
    """
    claimed: list[uuid.UUID] = []
    try:
        return await _claim_and_handle(maker, consumer, claimed)
    except Exception as exc:
        if not claimed:
            raise  # nothing claimed: the database is unreachable; the worker retries later
        # The claiming transaction itself failed (its connection died, or the commit was
        # refused): count the attempt in a fresh one, so a poison event still ends up dead.
        await _record_lost_attempt(maker, consumer, claimed[0], exc)
        return True


async def _record_lost_attempt(
    maker: async_sessionmaker[AsyncSession], consumer: Consumer, event_id: uuid.UUID, exc: Exception
) -> None:
    async with transaction(maker) as session:
        row = await session.get(EventConsumption, (consumer.name, event_id), with_for_update=True)
        if row is None or row.status != "pending":
            return  # the commit did land after all, or another worker settled it
        row.attempts += 1
        _record_failure(row, exc, consumer.max_attempts)
    log.warning(
        "event_dead" if row.status == "dead" else "event_failed",
        consumer=consumer.name,
        event_id=str(event_id),
        attempts=row.attempts,
        error=type(exc).__name__,
    )


async def _claim_and_handle(
    maker: async_sessionmaker[AsyncSession], consumer: Consumer, claimed: list[uuid.UUID]
) -> bool:
    async with transaction(maker) as session:
        claimed_row = (
            await session.execute(
                select(EventConsumption, OutboxEvent)
                .join(OutboxEvent, OutboxEvent.id == EventConsumption.event_id)
                .where(
                    EventConsumption.consumer == consumer.name,
                    EventConsumption.status == "pending",
                    EventConsumption.next_attempt_at <= func.now(),
                )
                .order_by(EventConsumption.next_attempt_at, OutboxEvent.created_at)
                .limit(1)
                .with_for_update(of=EventConsumption, skip_locked=True)
            )
        ).first()
        if claimed_row is None:
            return False
        row, event = claimed_row
        claimed.append(event.id)
        row.attempts += 1
        # The handler carries on the request that caused the event (or, for events raised by a
        # worker, the event itself): its id is on every log line and audit row it writes.
        token = set_request_id(event.request_id or f"event:{event.id}")
        bound = structlog.contextvars.bind_contextvars(event_id=str(event.id))
        try:
            async with session.begin_nested():
                handler = consumer.handlers.get(event.topic)
                if handler is None:
                    raise NoHandler(event.topic)
                await handler(session, event)
        except Exception as exc:
            _record_failure(row, exc, consumer.max_attempts)
            log.warning(
                "event_dead" if row.status == "dead" else "event_failed",
                consumer=consumer.name,
                topic=event.topic,
                event_id=str(event.id),
                attempts=row.attempts,
                error=type(exc).__name__,
            )
            return True
        else:
            row.status, row.processed_at, row.last_error = "done", func.now(), None
            log.info(
                "event_processed",
                consumer=consumer.name,
                topic=event.topic,
                event_id=str(event.id),
            )
            return True
        finally:
            structlog.contextvars.reset_contextvars(**bound)
            reset_request_id(token)


def _record_failure(row: EventConsumption, exc: Exception, max_attempts: int) -> None:
    # The class name only: an exception message may quote a child's details.
    row.last_error = type(exc).__name__
    if row.attempts >= max_attempts:
        row.status = "dead"
    else:
        row.next_attempt_at = func.now() + retry_delay(row.attempts)


async def drain(
    maker: async_sessionmaker[AsyncSession], consumers: Sequence[Consumer], limit: int = 1000
) -> int:
    """Handle every due event for these consumers (up to `limit`); the count handled."""
    handled = 0
    for consumer in consumers:
        while handled < limit and await process_one(maker, consumer):
            handled += 1
    return handled


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
        batch: int = 100,
        on_stop: Sequence[Callable[[], Awaitable[None]]] = (),
    ) -> None:
        self.name, self.maker, self.database_url = name, maker, database_url
        self.consumers, self.periodic, self.poll = list(consumers), list(periodic), poll
        self.batch = batch
        self.on_stop = list(on_stop)
        self._wake = asyncio.Event()
        self._listener: asyncpg.Connection | None = None
        # Set while the worker waits for a wake-up or its poll: nothing is in hand.
        self.idle = asyncio.Event()
        self._backoff = Backoff()
        self._listen_backoff = Backoff()
        self._listen_after = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        log.info("worker_started", worker=self.name)
        try:
            while not stop.is_set():
                await self._ensure_listening()
                # Cleared before the pass: a NOTIFY that lands during it wakes the next wait.
                self._wake.clear()
                wait = None
                try:
                    done = await self.tick()
                except Exception as exc:  # the database went away: keep trying, never die
                    done, wait = 0, self._tick_failed(exc)
                else:
                    self._tick_succeeded()
                if done and not stop.is_set():
                    continue  # more may be due right now
                self.idle.set()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wait(stop), timeout=wait or self._next_wait())
                self.idle.clear()
        finally:
            await self._close_listener()
            for closer in self.on_stop:
                try:
                    await closer()
                except Exception as exc:  # the database may be gone; stop anyway
                    log.warning("worker_stop_step_failed", error=type(exc).__name__)
            log.info("worker_stopped", worker=self.name)

    def _tick_failed(self, exc: Exception) -> float:
        delay, loud = self._backoff.failed()
        if loud:
            log.error(
                "worker_tick_failed",
                worker=self.name,
                error=type(exc).__name__,
                failures_in_a_row=self._backoff.failures,
                retry_in_seconds=delay,
            )
        return delay

    def _tick_succeeded(self) -> None:
        ended = self._backoff.succeeded()
        if ended:
            log.info("worker_recovered", worker=self.name, after_failures=ended)

    async def tick(self) -> int:
        """One pass: due events (bounded), then every due periodic job (each error contained;
        a job that keeps failing is tried less and less often, and logged less and less)."""
        done = await drain(self.maker, self.consumers, limit=self.batch)
        loop_time = asyncio.get_running_loop().time()
        for job in self.periodic:
            if loop_time - job.last_run < job.every:
                continue
            job.last_run = loop_time
            try:
                await job.job(self.maker)
            except Exception as exc:
                delay, loud = job.backoff.failed()
                job.last_run = loop_time + max(0.0, delay - job.every)
                if loud:
                    log.error(
                        "periodic_job_failed",
                        job=job.name,
                        error=type(exc).__name__,
                        failures_in_a_row=job.backoff.failures,
                    )
            else:
                ended = job.backoff.succeeded()
                if ended:
                    log.info("periodic_job_recovered", job=job.name, after_failures=ended)
        return done

    def _next_wait(self) -> float:
        """Sleep until the poll interval or the next periodic job, whichever is sooner."""
        now = asyncio.get_running_loop().time()
        waits = [self.poll, *(job.last_run + job.every - now for job in self.periodic)]
        return max(0.05, min(waits))

    async def _wait(self, stop: asyncio.Event) -> None:
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()

    async def _ensure_listening(self) -> None:
        """LISTEN on a dedicated connection; reconnect after it drops (polling covers the gap)."""
        if not self.consumers or (self._listener is not None and not self._listener.is_closed()):
            return
        now = asyncio.get_running_loop().time()
        if now < self._listen_after:
            return
        try:
            conn = await asyncpg.connect(libpq_url(self.database_url), timeout=5)
            await conn.add_listener(NOTIFY_CHANNEL, lambda *_: self._wake.set())
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            delay, loud = self._listen_backoff.failed()
            self._listen_after = now + delay
            if loud:
                log.warning(
                    "worker_listen_failed",
                    worker=self.name,
                    error=type(exc).__name__,
                    failures_in_a_row=self._listen_backoff.failures,
                )
            self._listener = None
            return
        self._listen_backoff.succeeded()
        self._listener = conn

    async def _close_listener(self) -> None:
        if self._listener is not None and not self._listener.is_closed():
            await self._listener.close()
        self._listener = None
