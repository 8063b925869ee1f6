"""SQL of handovers and their delivery attempts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.mash import MashHandover, MashHandoverAttempt
from services.models.triage import TriageDecision

H = MashHandover


async def create_once(session: AsyncSession, values: dict[str, object]) -> bool:
    """Insert the handover unless this contact already has one of this type."""
    stmt = (
        insert(H)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["contact_id", "handover_type"])
        .returning(H.id)
    )
    return (await session.execute(stmt)).first() is not None


async def claim_due(session: AsyncSession, now: datetime, limit: int) -> Sequence[H]:
    stmt = (
        select(H)
        .where(H.status == "pending", H.next_attempt_at <= now)
        .order_by(H.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(stmt)).all()


async def get(session: AsyncSession, council_id: str, handover_id: uuid.UUID) -> H | None:
    return await session.scalar(select(H).where(H.id == handover_id, H.council_id == council_id))


async def for_contact(session: AsyncSession, contact_id: uuid.UUID) -> Sequence[H]:
    stmt = select(H).where(H.contact_id == contact_id).order_by(H.created_at)
    return (await session.scalars(stmt)).all()


async def attempts(
    session: AsyncSession, handover_ids: Sequence[uuid.UUID]
) -> Sequence[MashHandoverAttempt]:
    if not handover_ids:
        return []
    stmt = (
        select(MashHandoverAttempt)
        .where(MashHandoverAttempt.handover_id.in_(handover_ids))
        .order_by(MashHandoverAttempt.attempted_at)
    )
    return (await session.scalars(stmt)).all()


def add(session: AsyncSession, row: MashHandoverAttempt) -> None:
    session.add(row)


async def latest_decision(session: AsyncSession, contact_id: uuid.UUID) -> TriageDecision | None:
    """The contact's most recent decision (the one the handover carries)."""
    stmt = (
        select(TriageDecision)
        .where(TriageDecision.contact_id == contact_id)
        .order_by(TriageDecision.made_at.desc())
        .limit(1)
    )
    return await session.scalar(stmt)
