"""Councils' working calendars, cached per process for a short time (see the setting)."""

from __future__ import annotations

import time

from sqlalchemy.ext.asyncio import AsyncSession

from referral_api.settings import ReferralSettings
from services.calendar import WorkingCalendar
from services.calendar_store import load_calendar

_cache: dict[str, tuple[float, WorkingCalendar]] = {}


async def council_calendar(
    session: AsyncSession, council_id: str, settings: ReferralSettings
) -> WorkingCalendar:
    now = time.monotonic()
    cached = _cache.get(council_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    calendar = await load_calendar(session, council_id)
    if settings.calendar_cache_seconds > 0:
        _cache[council_id] = (now + settings.calendar_cache_seconds, calendar)
    return calendar


def forget_calendars() -> None:
    """Drop every cached calendar (after an admin change in this process, and in tests)."""
    _cache.clear()
