"""SQL of the council's triage configuration: its calendar row's `settings`."""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.platform import CouncilCalendar

log = structlog.get_logger(__name__)


async def settings(session: AsyncSession, council_id: str) -> dict[str, Any]:
    """The council's `settings` (empty when it has no calendar row or no settings)."""
    row = await session.get(CouncilCalendar, council_id)
    if row is None or row.settings is None:
        return {}
    if not isinstance(row.settings, dict):
        # Not an object (a list, a string): every setting is ignored for its default.
        log.warning("council_setting_ignored", setting="settings", reason="not_an_object")
        return {}
    return dict(row.settings)
