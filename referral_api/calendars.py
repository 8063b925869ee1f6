"""Councils' working calendars, cached per process for a short time (see the setting)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from datetime import date
from functools import cached_property
from zoneinfo import ZoneInfo

import asyncpg

from referral_api.settings import ReferralSettings
from services.calendar import WorkingCalendar
from services.calendar_store import load_calendar_on


@dataclass(frozen=True)
class RememberingCalendar(WorkingCalendar):
    """The same calendar, remembering which days are working days and its zone object:
    every intake asks the same few dates, and the answers hold for the cached calendar's life."""

    _working: dict[date, bool] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def zone(self) -> ZoneInfo:  # the same value, built once
        return ZoneInfo(self.timezone)

    def is_working_day(self, day: date) -> bool:
        working = self._working.get(day)
        if working is None:
            working = self._working[day] = super().is_working_day(day)
        return working


def remembering(calendar: WorkingCalendar) -> RememberingCalendar:
    return RememberingCalendar(
        **{f.name: getattr(calendar, f.name) for f in fields(WorkingCalendar)}
    )


_cache: dict[str, tuple[float, WorkingCalendar]] = {}


async def council_calendar(
    conn: asyncpg.Connection, council_id: str, settings: ReferralSettings
) -> WorkingCalendar:
    now = time.monotonic()
    cached = _cache.get(council_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    calendar = await load_calendar_on(conn, council_id)
    if settings.calendar_cache_seconds > 0:
        calendar = remembering(calendar)
        _cache[council_id] = (now + settings.calendar_cache_seconds, calendar)
    return calendar


def forget_calendars() -> None:
    """Drop every cached calendar (after an admin change in this process, and in tests)."""
    _cache.clear()
