"""Periodic work of delivery: the deadline watch, and retention of delivery bodies.

The deadline watch runs its rules (`watch`: email fallback, escalation, digests) each in its
own transaction.

Finished deliveries keep their evidence (who, when, which status, how long) but not their
bodies or the receivers' replies beyond the retention window: the body is emptied and the
replies' excerpts cleared. A delivery that is pending, or whose body is already empty, is left.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifications.delivery import repository
from notifications.delivery.watch import digests, escalations, fallback_emails
from notifications.settings import NotificationsSettings, get_notifications_settings
from services.db import transaction

log = structlog.get_logger(__name__)


async def watch_deadlines(
    maker: async_sessionmaker[AsyncSession], settings: NotificationsSettings
) -> int:
    done = 0
    for rule in (fallback_emails, escalations, digests):
        async with transaction(maker) as session:
            done += await rule(session, settings, datetime.now(UTC))
    return done


# One run empties at most this many batches; the next run continues.
MAX_PURGE_ROUNDS = 100


async def purge_delivery_bodies(
    maker: async_sessionmaker[AsyncSession],
    *,
    settings: NotificationsSettings | None = None,
    now: datetime | None = None,
) -> int:
    """Empty the bodies (and replies) of deliveries finished before the window; the count."""
    settings = settings or get_notifications_settings()
    before = (now or datetime.now(UTC)) - timedelta(days=settings.delivery_body_retention_days)
    total = 0
    for _ in range(MAX_PURGE_ROUNDS):
        async with transaction(maker) as session:
            done = await repository.purge_bodies(session, before=before, batch=settings.purge_batch)
        total += done
        if done < settings.purge_batch:
            break
    if total:
        log.info("delivery_bodies_purged", count=total)
    return total
