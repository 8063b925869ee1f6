"""SQL of the schools' notifications: the detail with its incident, welfare checks, police
corrections and the unacknowledged report.

The delivery rows behind the attempts and resend endpoints are read and requeued in
`notifications.delivery.repository`. (The list endpoint's query is still in
`alerts.service.list_notifications`, while that endpoint moves to the platform's keyset page.)
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Row, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.notifications import Incident, Notification, School
from services.models.notifications_extra import NotificationCorrection, WelfareCheck


async def notification_with_incident(
    session: AsyncSession, notification_id: uuid.UUID, *, lock: bool = False
) -> tuple[Notification, Incident] | None:
    """The notification and its incident (with `lock`, the notification row locked)."""
    query = (
        select(Notification, Incident)
        .join(Incident, Incident.id == Notification.incident_id)
        .where(Notification.id == notification_id)
    )
    if lock:
        query = query.with_for_update(of=Notification)
    row = (await session.execute(query)).first()
    return None if row is None else (row[0], row[1])


async def get_school(session: AsyncSession, urn: str) -> School:
    return await session.get_one(School, urn)


async def welfare_checks(session: AsyncSession, notification_id: uuid.UUID) -> list[WelfareCheck]:
    rows = await session.scalars(
        select(WelfareCheck)
        .where(WelfareCheck.notification_id == notification_id)
        .order_by(WelfareCheck.done_at, WelfareCheck.recorded_at, WelfareCheck.id)
    )
    return list(rows.all())


async def corrections(
    session: AsyncSession, notification_id: uuid.UUID
) -> list[NotificationCorrection]:
    rows = await session.scalars(
        select(NotificationCorrection)
        .where(NotificationCorrection.notification_id == notification_id)
        .order_by(NotificationCorrection.corrected_at, NotificationCorrection.id)
    )
    return list(rows.all())


ReportRow = tuple[str, str, int, int, int, int, int, datetime | None]


async def unacknowledged_by_school(
    session: AsyncSession, *, council_id: str, now: datetime
) -> list[ReportRow]:
    """Per school of the council with open work: (urn, name, open, unacknowledged, overdue,
    escalated, awaiting a welfare check, the oldest unacknowledged deadline)."""
    unacked = Notification.acknowledged_at.is_(None)

    def count_when(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.count(case((condition, 1)))

    query = (
        select(
            School.urn,
            School.name,
            func.count(Notification.id),
            count_when(unacked),
            count_when(unacked & (Notification.deadline_at < now)),
            count_when(Notification.escalated_at.is_not(None)),
            count_when(Notification.welfare_check_at.is_(None)),
            func.min(case((unacked, Notification.deadline_at))),
        )
        .join(Notification, Notification.school_urn == School.urn)
        .where(School.council_id == council_id)
        .where(Notification.welfare_check_at.is_(None) | unacked)
        .group_by(School.urn, School.name)
        .order_by(School.urn)
    )
    rows: Sequence[Row[tuple[object, ...]]] = (await session.execute(query)).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]
