"""A council's calendar loaded from its configuration rows."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy.ext.asyncio import AsyncSession

from services.calendar_store import load_calendar
from services.models.platform import ClosureDay, CouncilCalendar


class TestLoadCalendar:
    async def test_an_unconfigured_council_gets_the_england_and_wales_default(
        self, session: AsyncSession
    ) -> None:
        calendar = await load_calendar(session, "nowhere")
        assert calendar.timezone == "Europe/London"
        assert calendar.rule == "same_time"
        assert calendar.office_hours[4] == (time(8, 30), time(16, 30))

    async def test_a_configured_council_gets_its_hours_closures_and_rule(
        self, session: AsyncSession
    ) -> None:
        session.add(
            CouncilCalendar(
                council_id="leeds",
                name="Leeds",
                timezone="Europe/London",
                office_hours={"0": ["09:00", "17:00"]},
                working_day_rule="end_of_day",
                settings={},
            )
        )
        session.add(ClosureDay(council_id="leeds", day=date(2026, 12, 24), reason="closure"))
        session.add(ClosureDay(council_id="other", day=date(2026, 12, 23), reason="not ours"))
        await session.flush()
        calendar = await load_calendar(session, "leeds")
        assert calendar.closure_days == frozenset({date(2026, 12, 24)})
        assert calendar.office_hours == {0: (time(9), time(17))}
        assert calendar.rule == "end_of_day"
        due = calendar.add_working_days(datetime(2026, 12, 23, 10, tzinfo=UTC), 1)
        assert due == datetime(2026, 12, 30, 0, tzinfo=UTC)  # end of Tuesday 29th
