"""The transactional outbox: events are rows written in the business transaction.

`emit` adds the event and one consumption row per subscriber, then NOTIFYs the workers; the
notification is delivered only if the transaction commits, so no event escapes a rollback and
none is lost after a commit.
"""

from __future__ import annotations

import uuid
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
    event = OutboxEvent(
        id=uuid.uuid4(),
        topic=topic,
        version=version,
        producer=producer,
        payload=topic_payload(payload),
        request_id=current_request_id(),
    )
    session.add(event)
    for consumer in consumers_for(topic):
        session.add(EventConsumption(consumer=consumer, event_id=event.id))
    await session.flush()
    await session.execute(
        text("SELECT pg_notify(:channel, :topic)"), {"channel": NOTIFY_CHANNEL, "topic": topic}
    )
    return event.id


async def emit_many(
    session: AsyncSession,
    topic: str,
    payloads: list[EventPayload] | list[dict[str, Any]],
    *,
    producer: str,
    version: int = 1,
) -> list[uuid.UUID]:
    """`emit` for many events of one topic: one flush and one NOTIFY (batch workers)."""
    if not payloads:
        return []
    ids: list[uuid.UUID] = []
    subscribers = consumers_for(topic)
    request_id = current_request_id()
    for payload in payloads:
        event_id = uuid.uuid4()
        session.add(
            OutboxEvent(
                id=event_id,
                topic=topic,
                version=version,
                producer=producer,
                payload=topic_payload(payload),
                request_id=request_id,
            )
        )
        session.add_all(EventConsumption(consumer=c, event_id=event_id) for c in subscribers)
        ids.append(event_id)
    await session.flush()
    await session.execute(
        text("SELECT pg_notify(:channel, :topic)"), {"channel": NOTIFY_CHANNEL, "topic": topic}
    )
    return ids
