"""The contacts feature's SQL: loading a contact (locked for a change when asked)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.triage import TriageContact


async def get_contact(
    session: AsyncSession, *, council_id: str, contact_id: uuid.UUID, lock: bool = False
) -> TriageContact | None:
    stmt = select(TriageContact).where(
        TriageContact.id == contact_id, TriageContact.council_id == council_id
    )
    if lock:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).one_or_none()
