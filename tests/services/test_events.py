"""The outbox and consumer loop on real PostgreSQL."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.db import transaction
from services.events.consumer import Consumer, drain
from services.events.outbox import emit
from services.models.platform import EventConsumption, OutboxEvent


class TestOutbox:
    async def test_emit_writes_event_and_one_consumption_per_subscriber(
        self, session: AsyncSession
    ) -> None:
        event_id = await emit(
            session, "referral.received", {"reference": "FD-1"}, producer="referral_api"
        )
        rows = (
            await session.scalars(
                select(EventConsumption).where(EventConsumption.event_id == event_id)
            )
        ).all()
        assert [r.consumer for r in rows] == ["triage.intake"]
        assert rows[0].status == "pending"

    async def test_rolled_back_transaction_leaves_no_event(self, session: AsyncSession) -> None:
        before = await session.scalar(select(func.count()).select_from(OutboxEvent))
        nested = await session.begin_nested()
        await emit(session, "referral.received", {"reference": "FD-2"}, producer="referral_api")
        await nested.rollback()
        after = await session.scalar(select(func.count()).select_from(OutboxEvent))
        assert before == after


class TestConsumer:
    async def test_handler_runs_once_and_failures_are_retried_with_a_recorded_error(
        self, committed_db: str, maker: async_sessionmaker[AsyncSession]
    ) -> None:
        seen: list[str] = []
        failures = {"left": 1}

        async def handler(session: AsyncSession, event: OutboxEvent) -> None:
            if failures["left"]:
                failures["left"] -= 1
                raise RuntimeError("transient")
            seen.append(event.payload["reference"])

        consumer = Consumer(name="triage.intake", handlers={"referral.received": handler})
        async with transaction(maker) as s:
            await emit(s, "referral.received", {"reference": "FD-3"}, producer="referral_api")
        assert await drain(maker, [consumer]) == 1
        async with transaction(maker) as s:
            row = (await s.scalars(select(EventConsumption))).one()
            assert (row.status, row.attempts, row.last_error) == ("pending", 1, "RuntimeError")
            row.next_attempt_at = row.created_at  # due now
        assert await drain(maker, [consumer]) == 1
        assert await drain(maker, [consumer]) == 0
        assert seen == ["FD-3"]
