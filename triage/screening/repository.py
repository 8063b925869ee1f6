"""SQL of RAG screening: the ratings and the contact's MASH clock."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.mash import MashRagRating
from services.models.triage import TriageClock

MASH_CLOCK = "mash"


async def ratings(session: AsyncSession, contact_id: uuid.UUID) -> Sequence[MashRagRating]:
    stmt = (
        select(MashRagRating)
        .where(MashRagRating.contact_id == contact_id)
        .order_by(MashRagRating.set_at, MashRagRating.id)
    )
    return (await session.scalars(stmt)).all()


async def latest(session: AsyncSession, contact_id: uuid.UUID) -> MashRagRating | None:
    stmt = (
        select(MashRagRating)
        .where(MashRagRating.contact_id == contact_id)
        .order_by(MashRagRating.set_at.desc(), MashRagRating.id.desc())
        .limit(1)
    )
    return await session.scalar(stmt)


async def mash_clock(session: AsyncSession, contact_id: uuid.UUID) -> TriageClock | None:
    stmt = (
        select(TriageClock)
        .where(TriageClock.contact_id == contact_id, TriageClock.kind == MASH_CLOCK)
        .with_for_update()
    )
    return await session.scalar(stmt)


def add(session: AsyncSession, row: MashRagRating | TriageClock) -> None:
    session.add(row)
