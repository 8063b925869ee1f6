"""Every SQL statement of Operation Encompass intake: incidents, notifications, per-force
sharing and EHE tasks.

Incidents and notifications are inserted with `ON CONFLICT DO NOTHING` on their natural keys
(force + police reference; incident + child key), so a resubmitted batch, a replayed event or
two racing requests create nothing twice. Rows added through the session (an EHE task, a
correction) and attribute changes on loaded rows are flushed by the unit of work.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.notifications import EheTask, ForceSharing, Incident, Notification, School


async def get_school(session: AsyncSession, urn: str) -> School | None:
    return await session.get(School, urn)


async def insert_incident(session: AsyncSession, values: Mapping[str, object]) -> Incident | None:
    """The new incident, or None when the force's reference is known already."""
    inserted: Incident | None = await session.scalar(
        insert(Incident)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["force_id", "police_reference"])
        .returning(Incident)
    )
    return inserted


async def lock_incident(session: AsyncSession, force_id: str, police_reference: str) -> Incident:
    """The known incident, locked (the resend that changes it is applied under the lock)."""
    existing = await session.scalar(
        select(Incident)
        .where(Incident.force_id == force_id, Incident.police_reference == police_reference)
        .with_for_update()
    )
    assert existing is not None
    return existing


async def insert_notification(
    session: AsyncSession, values: Mapping[str, object]
) -> Notification | None:
    """The new notification, or None when the incident has this child already."""
    inserted: Notification | None = await session.scalar(
        insert(Notification)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["incident_id", "child_key"])
        .returning(Notification)
    )
    return inserted


async def notification_of(
    session: AsyncSession, incident_id: uuid.UUID, child_key: str
) -> Notification:
    found = await session.scalar(
        select(Notification).where(
            Notification.incident_id == incident_id, Notification.child_key == child_key
        )
    )
    assert found is not None
    return found


async def lock_notifications_of(
    session: AsyncSession, incident_id: uuid.UUID
) -> list[Notification]:
    """The incident's notifications, oldest first, locked."""
    rows = await session.scalars(
        select(Notification)
        .where(Notification.incident_id == incident_id)
        .order_by(Notification.created_at, Notification.id)
        .with_for_update()
    )
    return list(rows.all())


async def force_sharing(
    session: AsyncSession, council_id: str, force_id: str
) -> ForceSharing | None:
    return await session.get(ForceSharing, (council_id, force_id))


async def list_ehe_tasks(
    session: AsyncSession, *, council_id: str, status: str | None, limit: int
) -> Sequence[EheTask]:
    query = (
        select(EheTask)
        .where(EheTask.council_id == council_id)
        .order_by(EheTask.created_at.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(EheTask.status == status)
    return (await session.scalars(query)).all()
