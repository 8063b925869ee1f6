"""Event consumers: triage's breaches, due-soon warnings and overdue written follow-ups."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from notifications.front_door import service
from notifications.settings import NotificationsSettings
from services.events.consumer import Consumer
from services.models.platform import OutboxEvent

CONSUMER = "notifications.front_door"


def front_door_consumer(settings: NotificationsSettings) -> Consumer:
    async def on_breached(session: AsyncSession, event: OutboxEvent) -> None:
        await service.record_clock_event(session, settings, event, "breached")

    async def on_due_soon(session: AsyncSession, event: OutboxEvent) -> None:
        await service.record_clock_event(session, settings, event, "due_soon")

    async def on_follow_up_overdue(session: AsyncSession, event: OutboxEvent) -> None:
        await service.record_follow_up_overdue(session, settings, event)

    return Consumer(
        name=CONSUMER,
        handlers={
            "clock.breached": on_breached,
            "clock.due_soon": on_due_soon,
            "contact.written_follow_up_overdue": on_follow_up_overdue,
        },
    )
