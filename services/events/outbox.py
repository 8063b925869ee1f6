"""The transactional outbox: events are rows written in the business transaction.

`emit` adds the event and one consumption row per subscriber, then NOTIFYs the workers; the
notification is delivered only if the transaction commits, so no event escapes a rollback and
none is lost after a commit. The topic is the payload class's own (`services.events.contracts`).

A hot path that is one autocommit statement (the MARF intake) writes the same rows inside its
statement instead: `OUTBOX_EVENT_COLUMNS` and `EVENT_CONSUMPTION_COLUMNS` are the columns it
fills, and `outbox_ctes` the statement's fragments, kept here so the outbox has one owner.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.events.contracts import EventPayload, consumers_for
from services.logging import current_request_id
from services.models.platform import EventConsumption, OutboxEvent

NOTIFY_CHANNEL = "frontdoor_events"
_NOTIFY = text("SELECT pg_notify(:channel, :topic)")


async def emit(
    session: AsyncSession, payload: EventPayload, *, producer: str, version: int = 1
) -> uuid.UUID:
    """Write one event (of the payload's topic) and its consumption rows in the session's
    transaction; the workers are woken when it commits."""
    [event_id] = await emit_many(session, [payload], producer=producer, version=version)
    return event_id


async def emit_many(
    session: AsyncSession,
    payloads: Sequence[EventPayload],
    *,
    producer: str,
    version: int = 1,
) -> list[uuid.UUID]:
    """`emit` for each payload in turn, then one flush and one NOTIFY per topic among them."""
    request_id = current_request_id()
    ids: list[uuid.UUID] = []
    for payload in payloads:
        topic = payload.topic
        event = OutboxEvent(
            id=uuid.uuid4(),
            topic=topic,
            version=version,
            producer=producer,
            payload=payload.model_dump(mode="json"),
            request_id=request_id,
        )
        session.add(event)
        session.add_all(
            EventConsumption(consumer=c, event_id=event.id) for c in consumers_for(topic)
        )
        ids.append(event.id)
    if not ids:
        return ids
    await session.flush()
    for topic in dict.fromkeys(p.topic for p in payloads):
        await session.execute(_NOTIFY, {"channel": NOTIFY_CHANNEL, "topic": topic})
    return ids
