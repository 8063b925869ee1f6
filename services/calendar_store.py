"""Load a council's working calendar from its configuration rows."""

from __future__ import annotations

from datetime import date
from typing import cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.calendar import WorkingCalendar, WorkingDayRule, parse_office_hours
from services.models.platform import ClosureDay, CouncilCalendar


async def load_calendar(session: AsyncSession, council_id: str) -> WorkingCalendar:
    """The council's calendar, or the England-and-Wales default when none is configured."""
    row = await session.get(CouncilCalendar, council_id)
    if row is None:
        return WorkingCalendar()
    closures = await session.scalars(
        select(ClosureDay.day).where(ClosureDay.council_id == council_id)
    )
    return WorkingCalendar(
        timezone=row.timezone,
        closure_days=frozenset(cast(list[date], closures.all())),
        office_hours=parse_office_hours(row.office_hours),
        rule=cast(WorkingDayRule, row.working_day_rule),
    )
