"""The demo council's triage seed: Bradford's calendar and the published rule set, once."""

from __future__ import annotations

from datetime import time

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.calendar_store import load_calendar
from services.models.platform import CouncilCalendar
from services.models.triage import TriageRuleSet
from services.settings import get_settings
from triage import demo
from triage.council.config import load_council


class TestDemoSeed:
    async def test_seed_twice_changes_nothing(self, session: AsyncSession) -> None:
        await demo.seed(session, get_settings())
        await demo.seed(session, get_settings())
        count = await session.scalar(select(func.count()).select_from(TriageRuleSet))
        assert count == 1
        active = await session.scalar(select(TriageRuleSet).where(TriageRuleSet.active))
        assert active is not None
        assert (active.status, active.version) == ("published", 1)

    async def test_bradford_office_hours_and_settings(self, session: AsyncSession) -> None:
        await demo.seed(session, get_settings())
        calendar = await load_calendar(session, "demo")
        assert calendar.office_hours[0] == (time(8, 30), time(17, 0))
        assert calendar.office_hours[4] == (time(8, 30), time(16, 30))
        assert calendar.rule == "same_time"
        council = await load_council(session, "demo")
        assert "nfa" in council.outcomes_needing_sign_off

    async def test_seed_adds_the_child_population_to_an_older_council_row(
        self, session: AsyncSession
    ) -> None:
        await demo.seed(session, get_settings())
        row = await session.get(CouncilCalendar, "demo")
        assert row is not None
        row.settings = {"feedback_working_days": 2}
        await session.flush()
        await demo.seed(session, get_settings())
        council = await load_council(session, "demo")
        assert (council.child_population, council.feedback_working_days) == (140_000, 2)
        before = dict(row.settings)
        await demo.seed(session, get_settings())
        assert row.settings == before
