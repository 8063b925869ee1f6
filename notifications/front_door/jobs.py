"""Periodic work: the grouped front-door alert emails."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifications.front_door.service import send_due_alerts
from notifications.settings import NotificationsSettings
from services.db import transaction


async def front_door_alerts(
    maker: async_sessionmaker[AsyncSession],
    settings: NotificationsSettings,
    now: datetime | None = None,
) -> int:
    """One pass in one transaction: the emails queued (the dispatcher sends them)."""
    async with transaction(maker) as session:
        return await send_due_alerts(session, settings, now or datetime.now(UTC))
