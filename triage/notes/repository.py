"""SQL of case notes (inserts and reads only: notes are never updated or deleted)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.mash import MashCaseNote


async def for_contact(session: AsyncSession, contact_id: uuid.UUID) -> Sequence[MashCaseNote]:
    stmt = (
        select(MashCaseNote)
        .where(MashCaseNote.contact_id == contact_id)
        .order_by(MashCaseNote.written_at, MashCaseNote.id)
    )
    return (await session.scalars(stmt)).all()


async def get(
    session: AsyncSession, contact_id: uuid.UUID, note_id: uuid.UUID
) -> MashCaseNote | None:
    stmt = select(MashCaseNote).where(
        MashCaseNote.id == note_id, MashCaseNote.contact_id == contact_id
    )
    return await session.scalar(stmt)


def add(session: AsyncSession, note: MashCaseNote) -> None:
    session.add(note)
