"""SQL of strategy discussions and their actions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.mash import MashStrategyAction, MashStrategyDiscussion
from services.models.triage import TriageClock

D = MashStrategyDiscussion
A = MashStrategyAction


async def for_contact(session: AsyncSession, contact_id: uuid.UUID) -> Sequence[D]:
    stmt = select(D).where(D.contact_id == contact_id).order_by(D.held_at, D.id)
    return (await session.scalars(stmt)).all()


async def get(session: AsyncSession, contact_id: uuid.UUID, discussion_id: uuid.UUID) -> D | None:
    stmt = select(D).where(D.id == discussion_id, D.contact_id == contact_id)
    return await session.scalar(stmt)


async def actions(session: AsyncSession, discussion_ids: Sequence[uuid.UUID]) -> Sequence[A]:
    if not discussion_ids:
        return []
    stmt = select(A).where(A.discussion_id.in_(discussion_ids)).order_by(A.position)
    return (await session.scalars(stmt)).all()


async def action(session: AsyncSession, discussion_id: uuid.UUID, action_id: uuid.UUID) -> A | None:
    stmt = select(A).where(A.id == action_id, A.discussion_id == discussion_id).with_for_update()
    return await session.scalar(stmt)


async def contact_actions(session: AsyncSession, contact_id: uuid.UUID) -> Sequence[A]:
    stmt = select(A).where(A.contact_id == contact_id).order_by(A.due_on, A.position)
    return (await session.scalars(stmt)).all()


async def icpc_clock_locked(session: AsyncSession, contact_id: uuid.UUID) -> TriageClock | None:
    """The contact's ICPC clock, locked (FOR UPDATE) for moving it."""
    stmt = (
        select(TriageClock)
        .where(TriageClock.contact_id == contact_id, TriageClock.kind == "icpc")
        .with_for_update()
    )
    return await session.scalar(stmt)


def add(session: AsyncSession, row: D | A) -> None:
    session.add(row)
