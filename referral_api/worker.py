"""The referral_api worker: the status consumer and the idempotency-key purge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from referral_api import repository
from referral_api.settings import ReferralSettings, get_referral_settings
from referral_api.status import status_consumer
from services.db import transaction
from services.events.consumer import Periodic, Worker

log = structlog.get_logger(__name__)

# One purge run deletes at most this many batches; the next run continues.
MAX_PURGE_ROUNDS = 100


async def purge_idempotency_keys(
    maker: async_sessionmaker[AsyncSession],
    *,
    settings: ReferralSettings | None = None,
    now: datetime | None = None,
) -> int:
    """Delete keys older than the retention, batch by batch; the number deleted."""
    settings = settings or get_referral_settings()
    before = (now or datetime.now(UTC)) - timedelta(hours=settings.idempotency_retention_hours)
    total = 0
    for _ in range(MAX_PURGE_ROUNDS):
        async with transaction(maker) as session:
            deleted = await repository.purge_idempotency_keys(
                session, before=before, batch=settings.idempotency_purge_batch
            )
        total += deleted
        if deleted < settings.idempotency_purge_batch:
            break
    if total:
        log.info("idempotency_keys_purged", count=total)
    return total


def build_worker(maker: async_sessionmaker[AsyncSession], database_url: str) -> Worker:
    settings = get_referral_settings()
    return Worker(
        name="referral_api",
        maker=maker,
        database_url=database_url,
        consumers=[status_consumer()],
        periodic=[
            Periodic(
                name="referral_api.idempotency_purge",
                every=settings.idempotency_purge_seconds,
                job=purge_idempotency_keys,
            )
        ],
    )
