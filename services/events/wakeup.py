"""Waking the workers after a commit, coalesced: at most one NOTIFY per topic per interval.

`emit` NOTIFYs inside the business transaction. That is right for most writes, but a NOTIFY
makes PostgreSQL serialise the commits that carry one (a database-wide lock held while the
notification is queued), and at hundreds of intakes a second that lock, not the writes, was
the database's main cost. A hot path that is one autocommit statement writes its outbox rows
in that statement and calls `wake_soon(topic)` once it has committed: the NOTIFY follows
within `COALESCE_SECONDS`, one for every burst of commits.

The NOTIFY is only a hint. The rows are the truth: a worker also polls (every 2 s by
default), so a wake-up lost to a crash or a dropped connection delays an event, never loses it.
"""

from __future__ import annotations

import asyncio

import structlog

from services.db import driver_pool
from services.events.outbox import NOTIFY_CHANNEL

log = structlog.get_logger(__name__)

COALESCE_SECONDS = 0.02


class Wakeup:
    def __init__(self, delay: float = COALESCE_SECONDS) -> None:
        self.delay = delay
        self._pending: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    def soon(self, topic: str) -> None:
        """Schedule a NOTIFY for `topic` (call after the commit that wrote its events)."""
        self._pending.add(topic)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._send())

    async def _send(self) -> None:
        # Topics added while a NOTIFY is on its way go out in the next pass of the loop.
        while self._pending:
            await asyncio.sleep(self.delay)
            topics, self._pending = self._pending, set()
            try:
                pool = await driver_pool.get()
                async with pool.acquire() as conn:
                    for topic in sorted(topics):
                        await conn.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, topic)
            except Exception as exc:  # the workers' poll picks the events up
                log.warning("wakeup_failed", error=type(exc).__name__)

    async def flush(self) -> None:
        """Wait for a scheduled NOTIFY to be sent (shutdown, tests)."""
        if self._task is not None:
            await self._task


wakeup = Wakeup()


def wake_soon(topic: str) -> None:
    wakeup.soon(topic)
