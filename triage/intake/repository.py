"""The intake's SQL: finding a referral's contact, appending an addendum once."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.triage import TriageAddendum, TriageContact


async def referral_contact(
    session: AsyncSession, referral_id: uuid.UUID
) -> tuple[uuid.UUID, str] | None:
    """The id and council of the contact made from this referral, if there is one yet."""
    row = (
        await session.execute(
            select(TriageContact.id, TriageContact.council_id).where(
                TriageContact.referral_id == referral_id
            )
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def add_addendum(
    session: AsyncSession,
    *,
    contact_id: uuid.UUID,
    addendum_id: uuid.UUID,
    added_at: datetime,
    text: str,
) -> None:
    """Append the addendum; a replay (the same addendum id) does nothing."""
    await session.execute(
        insert(TriageAddendum)
        .values(
            id=uuid.uuid4(),
            contact_id=contact_id,
            addendum_id=addendum_id,
            added_at=added_at,
            text=text,
        )
        .on_conflict_do_nothing(index_elements=["addendum_id"])
    )
