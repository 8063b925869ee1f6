"""SQL of the council's triage configuration: its calendar row's `settings`."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.models.platform import CouncilCalendar


async def settings(session: AsyncSession, council_id: str) -> dict[str, Any]:
    """The council's `settings` (empty when it has no calendar row or no settings)."""
    row = await session.get(CouncilCalendar, council_id)
    return dict(row.settings or {}) if row else {}
