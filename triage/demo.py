"""The demo council's triage data (idempotent)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.settings import FrontdoorSettings


async def seed(session: AsyncSession, settings: FrontdoorSettings) -> None:
    """Nothing yet."""
