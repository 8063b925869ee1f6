"""The DV screening's SQL: the screeners' views, whether Encompass was already asked."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.triage import TriageScreening


def add(session: AsyncSession, row: TriageScreening) -> None:
    session.add(row)


async def encompass_already_requested(session: AsyncSession, contact_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(TriageScreening.id)
        .where(TriageScreening.contact_id == contact_id, TriageScreening.encompass.is_(True))
        .limit(1)
    )
    return found is not None


async def views(session: AsyncSession, contact_id: uuid.UUID) -> list[TriageScreening]:
    """The screeners' views of the contact, oldest first."""
    rows = await session.scalars(
        select(TriageScreening)
        .where(TriageScreening.contact_id == contact_id, TriageScreening.kind == "view")
        .order_by(TriageScreening.screened_at)
    )
    return list(rows.all())
