"""Outbox retention: only old, fully handled events go; pending and dead ones stay."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services import cli
from services.db import transaction
from services.events.retention import prune_processed, retention_job
from services.models.platform import EventConsumption, OutboxEvent

Maker = async_sessionmaker[AsyncSession]


async def event(maker: Maker, *, age_days: int, statuses: list[str]) -> uuid.UUID:
    event_id = uuid.uuid4()
    async with transaction(maker) as s:
        s.add(OutboxEvent(id=event_id, topic="referral.received", producer="t", payload={}))
        for n, status in enumerate(statuses):
            s.add(EventConsumption(consumer=f"c{n}", event_id=event_id, status=status))
        await s.flush()
        await s.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id == event_id)
            .values(created_at=func.now() - timedelta(days=age_days))
        )
    return event_id


class TestPruneProcessed:
    async def test_only_old_fully_handled_events_are_deleted_with_their_receipts(
        self, committed_db: str, maker: Maker
    ) -> None:
        old_done = await event(maker, age_days=100, statuses=["done", "done"])
        kept = [
            await event(maker, age_days=10, statuses=["done"]),  # too recent
            await event(maker, age_days=100, statuses=["pending"]),
            await event(maker, age_days=100, statuses=["dead"]),  # waits for an operator
            await event(maker, age_days=100, statuses=["done", "pending"]),
        ]
        assert await prune_processed(maker, older_than=timedelta(days=90)) == 1
        async with transaction(maker) as s:
            remaining = set((await s.scalars(select(OutboxEvent.id))).all())
            receipts = (
                await s.scalars(
                    select(EventConsumption).where(EventConsumption.event_id == old_done)
                )
            ).all()
        assert remaining == set(kept)
        assert receipts == []

    async def test_deletion_is_in_bounded_batches(self, committed_db: str, maker: Maker) -> None:
        for _ in range(5):
            await event(maker, age_days=100, statuses=["done"])
        assert await prune_processed(maker, older_than=timedelta(days=90), batch=2) == 2
        assert await prune_processed(maker, older_than=timedelta(days=90), batch=2) == 2
        assert await prune_processed(maker, older_than=timedelta(days=90), batch=2) == 1
        assert await prune_processed(maker, older_than=timedelta(days=90), batch=2) == 0


class TestRetentionJob:
    def test_zero_days_keeps_events_for_ever(self) -> None:
        assert retention_job(0) is None

    def test_every_worker_runs_the_retention_job(self, database_url: str) -> None:
        worker = cli.build_worker("triage")
        assert "platform.retention_purge" in [job.name for job in worker.periodic]
