"""Outbox retention: events every consumer has handled are deleted after a while.

An event whose consumptions are all `done` has done its job; its audit trail lives in the
audit log, not here. Pending and dead events are never deleted (a dead one waits for an
operator). Deletion is in bounded batches and skips rows another worker holds, so every
worker process can run the job side by side.
"""

from __future__ import annotations

from datetime import timedelta

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.db import transaction
from services.events.consumer import Periodic, PeriodicJob

log = structlog.get_logger(__name__)

# One batch per transaction: short locks, and a backlog is worked off over a few passes.
PRUNE_BATCH = 5000
# Hourly is plenty for a job that only keeps a table from growing without bound.
PRUNE_EVERY_SECONDS = 3600.0

_PRUNE = text(
    """
    WITH doomed AS (
        SELECT e.id FROM outbox_events e
        WHERE e.created_at < now() - make_interval(secs => :age)
          AND NOT EXISTS (
              SELECT 1 FROM event_consumptions c
              WHERE c.event_id = e.id AND c.status <> 'done'
          )
        ORDER BY e.created_at
        LIMIT :batch
        FOR UPDATE SKIP LOCKED
    ), receipts AS (
        DELETE FROM event_consumptions WHERE event_id IN (SELECT id FROM doomed)
    )
    DELETE FROM outbox_events WHERE id IN (SELECT id FROM doomed)
    """
)


async def prune_processed(
    maker: async_sessionmaker[AsyncSession], *, older_than: timedelta, batch: int = PRUNE_BATCH
) -> int:
    """Delete up to `batch` fully handled events older than `older_than`; the count deleted."""
    async with transaction(maker) as session:
        result = await session.execute(_PRUNE, {"age": older_than.total_seconds(), "batch": batch})
    deleted = int(getattr(result, "rowcount", 0) or 0)
    if deleted:
        log.info("outbox_pruned", events=deleted)
    return deleted


def retention_job(days: int) -> Periodic | None:
    """The periodic job for `OUTBOX_RETENTION_DAYS` (None when retention is switched off)."""
    if days <= 0:
        return None
    older_than = timedelta(days=days)

    async def job(maker: async_sessionmaker[AsyncSession]) -> int:
        return await prune_processed(maker, older_than=older_than)

    prune: PeriodicJob = job
    return Periodic(name="platform.outbox_retention", every=PRUNE_EVERY_SECONDS, job=prune)
