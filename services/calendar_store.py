"""Load a council's working calendar from its configuration rows."""

from __future__ import annotations

import json
from typing import cast

import asyncpg
from sqlalchemy import Text, bindparam, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.ext.asyncio import AsyncSession

from services.calendar import WorkingCalendar, WorkingDayRule, parse_office_hours
from services.db import driver_connection, driver_statement
from services.models.platform import ClosureDay, CouncilCalendar

_CALENDAR = driver_statement(
    select(
        CouncilCalendar.timezone,
        sql_cast(CouncilCalendar.office_hours, Text),
        CouncilCalendar.working_day_rule,
    ).where(CouncilCalendar.council_id == bindparam("council_id"))
)
_CLOSURES = driver_statement(
    select(ClosureDay.day).where(ClosureDay.council_id == bindparam("council_id"))
)


async def load_calendar_on(conn: asyncpg.Connection, council_id: str) -> WorkingCalendar:
    """The council's calendar, or the England-and-Wales default when none is configured."""
    values = {"council_id": council_id}
    row = await conn.fetchrow(_CALENDAR.sql, *_CALENDAR.args(values))
    if row is None:
        return WorkingCalendar()
    closures = await conn.fetch(_CLOSURES.sql, *_CLOSURES.args(values))
    timezone, office_hours, rule = row
    return WorkingCalendar(
        timezone=timezone,
        closure_days=frozenset(closure[0] for closure in closures),
        office_hours=parse_office_hours(json.loads(office_hours)),
        rule=cast(WorkingDayRule, rule),
    )


async def load_calendar(session: AsyncSession, council_id: str) -> WorkingCalendar:
    """`load_calendar_on` inside a session's transaction."""
    return await load_calendar_on(await driver_connection(session), council_id)
