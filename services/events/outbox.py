"""The transactional outbox: events are rows written in the business transaction.

`emit` adds the event and one consumption row per subscriber, then NOTIFYs the workers; the
notification is delivered only if the transaction commits, so no event escapes a rollback and
none is lost after a commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.events.contracts import EventPayload, consumers_for, topic_payload
from services.logging import current_request_id
from services.models.platform import EventConsumption, OutboxEvent

NOTIFY_CHANNEL = "frontdoor_events"


async def emit(
    session: AsyncSession,
    topic: str,
    payload: EventPayload | dict[str, Any],
    *,
    producer: str,
    version: int = 1,
) -> uuid.UUID:
    """Write one event and its consumption rows in the session's transaction."""
    [event_id] = await emit_many(session, topic, [payload], producer=producer, version=version)
    return event_id


async def emit_many(
    session: AsyncSession,
    topic: str,
    payloads: Sequence[EventPayload | dict[str, Any]],
    *,
    producer: str,
    version: int = 1,
) -> list[uuid.UUID]:
    """Many events of one topic: each added as `emit` would, then one flush and one NOTIFY."""
    if not payloads:
        return []
    subscribers, request_id = consumers_for(topic), current_request_id()
    ids: list[uuid.UUID] = []
    for payload in payloads:
        event = OutboxEvent(
            id=uuid.uuid4(),
            topic=topic,
            version=version,
            producer=producer,
            payload=topic_payload(payload),
            request_id=request_id,
        )
        session.add(event)
        session.add_all(EventConsumption(consumer=c, event_id=event.id) for c in subscribers)
        ids.append(event.id)
    await session.flush()
    await session.execute(
        text("SELECT pg_notify(:channel, :topic)"), {"channel": NOTIFY_CHANNEL, "topic": topic}
    )
    return ids
