"""The intake's SQL: finding a referral's contact, appending an addendum once."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.triage import TriageAddendum, TriageClock, TriageContact, TriageSubject


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


async def find_quoted(
    session: AsyncSession, council_id: str, reference: str | None
) -> TriageContact | None:
    """The contact a follow-up quotes by reference (any channel; locked for the join)."""
    if not reference:
        return None
    stmt = (
        select(TriageContact)
        .where(
            TriageContact.council_id == council_id,
            TriageContact.reference == reference.strip().upper(),
        )
        .with_for_update()
    )
    return (await session.scalars(stmt)).one_or_none()


async def subjects_of(session: AsyncSession, contact_id: uuid.UUID) -> list[TriageSubject]:
    """The contact's stored subjects (the match keys), in order."""
    rows = await session.scalars(
        select(TriageSubject)
        .where(TriageSubject.contact_id == contact_id)
        .order_by(TriageSubject.position)
    )
    return list(rows.all())


async def pause_running_clocks(
    session: AsyncSession, contact_id: uuid.UUID, reason: str, at: datetime
) -> None:
    """The contact's running clocks stand still (a contact merged into the one it follows up)."""
    await session.execute(
        update(TriageClock)
        .where(TriageClock.contact_id == contact_id, TriageClock.state == "running")
        .values(state="paused", paused_at=at, paused_reason=reason)
    )
