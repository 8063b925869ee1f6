"""The demo seed: one real referral from the demo police referrer, once."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from referral_api import demo
from services.models.platform import OutboxEvent
from services.models.referral import Referral
from services.settings import get_settings


class TestDemoSeed:
    async def test_seeds_one_referral_and_its_event_and_is_idempotent(
        self, session: AsyncSession
    ) -> None:
        await demo.seed(session, get_settings())
        await session.flush()
        await demo.seed(session, get_settings())
        await session.flush()
        rows = (
            await session.scalars(select(Referral).where(Referral.submitted_by == demo.DEMO_SUB))
        ).all()
        assert len(rows) == 1
        assert rows[0].agency_id == demo.DEMO_AGENCY
        assert rows[0].subject_count == 2
        events = await session.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.payload["referral_id"].astext == str(rows[0].id))
        )
        assert events == 1
