"""All of the front-door alerts' SQL."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import delete, exists, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.notifications_extra import AlertBatch, CouncilContacts, FrontDoorAlert


async def duty_manager_email(session: AsyncSession, council_id: str) -> str | None:
    found = await session.get(CouncilContacts, council_id)
    return found.duty_manager_email if found is not None else None


async def add_alert(session: AsyncSession, values: Mapping[str, object]) -> bool:
    """One row per triage event: a replayed event adds nothing (False)."""
    inserted = await session.scalar(
        insert(FrontDoorAlert)
        .values(id=uuid.uuid4(), **values)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(FrontDoorAlert.id)
    )
    return inserted is not None


async def due_recipients(
    session: AsyncSession, *, before: datetime, window_start: datetime, limit: int
) -> list[str]:
    """Recipients with an alert waiting since before `before` (the burst has gathered) and
    no email yet in this window (so those waiting for the next window never crowd out others)."""
    emailed = exists().where(
        AlertBatch.recipient == FrontDoorAlert.recipient, AlertBatch.window_start == window_start
    )
    rows = await session.scalars(
        select(FrontDoorAlert.recipient)
        .where(FrontDoorAlert.batch_id.is_(None), FrontDoorAlert.created_at <= before, ~emailed)
        .group_by(FrontDoorAlert.recipient)
        .order_by(FrontDoorAlert.recipient)
        .limit(limit)
    )
    return list(rows.all())


async def open_batch(
    session: AsyncSession, *, recipient: str, window_start: datetime
) -> AlertBatch | None:
    """This recipient's one batch for this window; None if the window already has one."""
    batch_id = await session.scalar(
        insert(AlertBatch)
        .values(id=uuid.uuid4(), recipient=recipient, window_start=window_start, item_count=0)
        .on_conflict_do_nothing(index_elements=["recipient", "window_start"])
        .returning(AlertBatch.id)
    )
    return await session.get(AlertBatch, batch_id) if batch_id is not None else None


async def drop_batch(session: AsyncSession, batch: AlertBatch) -> None:
    await session.execute(delete(AlertBatch).where(AlertBatch.id == batch.id))


async def lock_pending(session: AsyncSession, recipient: str) -> Sequence[FrontDoorAlert]:
    """The recipient's waiting alerts, locked (another worker skips them)."""
    rows = await session.scalars(
        select(FrontDoorAlert)
        .where(FrontDoorAlert.recipient == recipient, FrontDoorAlert.batch_id.is_(None))
        .order_by(FrontDoorAlert.kind, FrontDoorAlert.deadline_at, FrontDoorAlert.id)
        .with_for_update(skip_locked=True)
    )
    return rows.all()
