"""The transactional outbox: events are rows written in the business transaction.

`emit` adds the event and one consumption row per subscriber, then NOTIFYs the workers; the
notification is delivered only if the transaction commits, so no event escapes a rollback and
none is lost after a commit. The topic is the payload class's own (`services.events.contracts`).

A hot path that is one autocommit statement (the MARF intake, ADR 0002) writes the same rows
inside its statement instead, with `outbox_ctes` and `outbox_params`: `OUTBOX_EVENT_COLUMNS`
and `EVENT_CONSUMPTION_COLUMNS` are the columns they fill, kept here so the outbox has one
owner. Such a statement cannot NOTIFY (a NOTIFY in every transaction serialises the commits):
its caller wakes the workers after the commit (`services.events.wakeup.wake_soon`).
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

OUTBOX_EVENT_COLUMNS = ("id", "topic", "version", "producer", "payload", "request_id")
# A consumption row is written pending with no attempts; its next attempt is due at once (the
# column's default).
EVENT_CONSUMPTION_COLUMNS = ("consumer", "event_id", "status", "attempts")


def outbox_ctes(*, source: str, payload_sql: str) -> str:
    """Two CTEs, `event` and `consumption`, writing what `emit` writes for one event: the
    `outbox_events` row and one `event_consumptions` row per subscriber, once per row of
    `source` (a CTE of the statement). The binds are `outbox_params`' (`:event_<name>`); the
    payload is the SQL expression `payload_sql` (jsonb), so the statement can complete it with
    values it makes itself."""
    return f"""event AS (
    INSERT INTO outbox_events ({", ".join(OUTBOX_EVENT_COLUMNS)})
    SELECT CAST(:event_id AS uuid), CAST(:event_topic AS text), CAST(:event_version AS integer),
        CAST(:event_producer AS text), {payload_sql}, CAST(:event_request_id AS text)
    FROM {source}
),
consumption AS (
    INSERT INTO event_consumptions ({", ".join(EVENT_CONSUMPTION_COLUMNS)})
    SELECT consumer, CAST(:event_id AS uuid), 'pending', 0
    FROM {source}, unnest(CAST(:event_consumers AS text[])) AS consumer
)"""


def outbox_params(
    payload: type[EventPayload], *, event_id: uuid.UUID, producer: str, version: int = 1
) -> dict[str, object]:
    """The binds of `outbox_ctes` for an event of this payload class (its topic and its
    subscribers, as `emit` would take them)."""
    return {
        "event_id": event_id,
        "event_topic": payload.topic,
        "event_version": version,
        "event_producer": producer,
        "event_request_id": current_request_id(),
        "event_consumers": list(consumers_for(payload.topic)),
    }


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
