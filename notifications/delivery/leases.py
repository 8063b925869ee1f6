"""Worker liveness for the delivery queue: a dead sender's rows come back in seconds.

Each dispatching worker holds a PostgreSQL advisory lock, keyed by a random number, on a
connection of its own, and stamps that number (`leased_by`) on the rows it claims. When the
worker dies, the server drops its connection and with it the lock; any other worker then sees
rows leased by a key nobody holds and makes them due again at once, instead of after the
lease (attempt timeout + margin, 45 s by default; 75 s before).

No double send in normal running: a live worker holds its lock for as long as it runs, so its
rows are never reclaimed while it may still be sending them. Only when the lock's connection
itself is lost (the database restarting) can a row be sent twice, with the same `webhook-id`.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

import asyncpg
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifications.delivery import repository
from services.db import libpq_url, transaction
from services.events.consumer import Backoff

log = structlog.get_logger(__name__)

# The advisory lock namespace (the first of the two int4 keys): "fdlv" in ASCII.
LOCK_NAMESPACE = 0x66646C76


class LeaseKeeper:
    """This worker's liveness lock: `key` is stamped on its claims while `held`."""

    def __init__(self, database_url: str, *, key: int | None = None) -> None:
        self.database_url = database_url
        self.key = key if key is not None else random.randint(1, 2**31 - 1)
        self._conn: asyncpg.Connection | None = None
        self._backoff = Backoff()
        self._retry_at = 0.0

    @property
    def held(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def ensure(self) -> bool:
        """Hold the lock (reconnecting after a loss, with a backoff); whether it is held."""
        if self.held:
            return True
        now = asyncio.get_running_loop().time()
        if now < self._retry_at:
            return False
        try:
            conn = await asyncpg.connect(libpq_url(self.database_url), timeout=5)
            await conn.execute("SELECT pg_advisory_lock($1, $2)", LOCK_NAMESPACE, self.key)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            delay, loud = self._backoff.failed()
            self._retry_at = now + delay
            if loud:
                log.warning("delivery_lease_lock_failed", error=type(exc).__name__)
            return False
        self._backoff.succeeded()
        self._conn = conn
        return True

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            await conn.close()


async def reclaim_orphans(
    maker: async_sessionmaker[AsyncSession], leases: LeaseKeeper | None = None
) -> int:
    """Make due again the rows leased by workers that are gone; how many."""
    if leases is not None and not leases.held:
        return 0  # without our own lock we cannot tell the living from the dead safely
    async with transaction(maker) as session:
        count = await repository.reclaim_orphans(
            session, now=datetime.now(UTC), namespace=LOCK_NAMESPACE
        )
    if count:
        log.warning("deliveries_reclaimed", count=count)
    return count
