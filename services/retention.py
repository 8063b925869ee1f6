"""Retention: what is kept only as long as it is needed, and the `frontdoor purge` job.

Each window is a setting (docs/audit.md has the schedule):

- outbox payloads (a `referral.received` event carries the whole MARF): emptied
  `OUTBOX_PAYLOAD_RETENTION_DAYS` after every consumer handled the event; the event row
  itself goes after `OUTBOX_RETENTION_DAYS` (services/events/retention.py);
- idempotency records: referral_api's keys after `REFERRAL_IDEMPOTENCY_RETENTION_HOURS`;
- delivery bodies and receivers' replies: notifications' finished deliveries after
  `NOTIFICATIONS_DELIVERY_BODY_RETENTION_DAYS`.

The platform imports no service, so each service's purge is found by name (services.registry).
Every run writes one audit row with what it removed (counts only), in its own transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services import audit
from services.db import transaction
from services.events.consumer import Periodic
from services.events.retention import PRUNE_BATCH, prune_processed
from services.registry import PURGES, load
from services.settings import FrontdoorSettings

log = structlog.get_logger(__name__)

# The most batches one run empties; the next run continues (bounded work per run).
MAX_ROUNDS = 100
# Daily is the documented schedule: windows are days long, so an hour's lag is immaterial.
PURGE_EVERY_SECONDS = 3600.0

_STRIP_PAYLOADS = text(
    """
    WITH doomed AS (
        SELECT e.id FROM outbox_events e
        WHERE e.created_at < now() - make_interval(secs => :age)
          AND e.payload <> CAST('{}' AS jsonb)
          AND NOT EXISTS (
              SELECT 1 FROM event_consumptions c
              WHERE c.event_id = e.id AND c.status <> 'done'
          )
        ORDER BY e.created_at
        LIMIT :batch
        FOR UPDATE SKIP LOCKED
    )
    UPDATE outbox_events SET payload = CAST('{}' AS jsonb) WHERE id IN (SELECT id FROM doomed)
    """
)


async def strip_outbox_payloads(
    maker: async_sessionmaker[AsyncSession], *, older_than: timedelta, batch: int = PRUNE_BATCH
) -> int:
    """Empty the payloads of fully handled events older than `older_than`; the count."""
    total = 0
    for _ in range(MAX_ROUNDS):
        async with transaction(maker) as session:
            result = await session.execute(
                _STRIP_PAYLOADS, {"age": older_than.total_seconds(), "batch": batch}
            )
        done = int(getattr(result, "rowcount", 0) or 0)
        total += done
        if done < batch:
            break
    return total


@dataclass
class PurgeReport:
    removed: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        parts = ", ".join(f"{k}={v}" for k, v in sorted(self.removed.items()))
        return f"purged: {parts or 'nothing configured'}"


async def purge_all(
    maker: async_sessionmaker[AsyncSession],
    settings: FrontdoorSettings,
    *,
    audit_nothing: bool = True,
) -> PurgeReport:
    """Every retention window at once, then one audit row naming the counts (a periodic
    run that removed nothing writes none: every worker runs it, hourly)."""
    report = PurgeReport()
    if settings.outbox_payload_retention_days > 0:
        age = timedelta(days=settings.outbox_payload_retention_days)
        report.removed["outbox_payloads"] = await strip_outbox_payloads(maker, older_than=age)
    if settings.outbox_retention_days > 0:
        age = timedelta(days=settings.outbox_retention_days)
        report.removed["outbox_events"] = await prune_processed(maker, older_than=age)
    for name, target in PURGES.items():
        report.removed[name] = int(await load(target)(maker))
    if not audit_nothing and not any(report.removed.values()):
        return report
    async with transaction(maker) as session:
        await audit.record(
            session,
            service="platform",
            actor=None,
            action="retention.purge",
            entity_type="retention",
            entity_id="all",
            reason=str(report)[:500],
            council_id=settings.council_id,
        )
    log.info("retention_purged", **report.removed)
    return report


def purge_job(settings: FrontdoorSettings) -> Periodic:
    """The workers' periodic run of `purge_all` (what `frontdoor purge` does once)."""

    async def job(maker: async_sessionmaker[AsyncSession]) -> int:
        return sum((await purge_all(maker, settings, audit_nothing=False)).removed.values())

    return Periodic(name="platform.retention_purge", every=PURGE_EVERY_SECONDS, job=job)
