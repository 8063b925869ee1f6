"""SQL of partner checks."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.mash import MashChild, MashChildAccess, MashChildLink, MashPartnerCheck

C = MashPartnerCheck


async def for_contact(session: AsyncSession, contact_id: uuid.UUID) -> Sequence[C]:
    stmt = select(C).where(C.contact_id == contact_id).order_by(C.requested_at, C.agency_id)
    return (await session.scalars(stmt)).all()


def _hidden_from(sub: str) -> ColumnElement[bool]:
    """Whether the check's contact is about a restricted child the caller is not named on."""
    named = exists().where(MashChildAccess.child_id == MashChild.id, MashChildAccess.sub == sub)
    return (
        select(MashChildLink.id)
        .join(MashChild, MashChild.id == MashChildLink.child_id)
        .where(MashChildLink.contact_id == C.contact_id, MashChild.restricted, ~named)
        .correlate(C)
        .exists()
    )


async def open_for_contact(session: AsyncSession, contact_id: uuid.UUID) -> Sequence[C]:
    stmt = (
        select(C)
        .where(C.contact_id == contact_id, C.status == "requested")
        .order_by(C.id)
        .with_for_update()
    )
    return (await session.scalars(stmt)).all()


async def for_agency(
    session: AsyncSession, *, council_id: str, agency_id: str, statuses: Sequence[str], sub: str
) -> list[tuple[C, bool]]:
    """The agency's checks, each with whether a restricted child hides it from `sub`."""
    stmt = (
        select(C, _hidden_from(sub))
        .where(C.council_id == council_id, C.agency_id == agency_id, C.status.in_(statuses))
        .order_by(C.due_at, C.id)
        .limit(500)
    )
    return [(check, bool(hidden)) for check, hidden in (await session.execute(stmt)).all()]


async def get(
    session: AsyncSession, *, council_id: str, check_id: uuid.UUID, lock: bool = False
) -> C | None:
    stmt = select(C).where(C.id == check_id, C.council_id == council_id)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def existing_agencies(session: AsyncSession, contact_id: uuid.UUID) -> set[str]:
    rows = await session.scalars(select(C.agency_id).where(C.contact_id == contact_id))
    return set(rows.all())


def add(session: AsyncSession, row: C) -> None:
    session.add(row)


async def overdue_by_agency(
    session: AsyncSession, *, council_id: str, now: datetime
) -> list[tuple[str, int, int, int]]:
    """(agency, open, overdue, answered late) for every agency with checks."""
    open_ = C.status == "requested"
    stmt = (
        select(
            C.agency_id,
            func.count().filter(open_),
            func.count().filter(and_(open_, C.due_at < now)),
            func.count().filter(and_(C.responded_at.is_not(None), C.responded_at > C.due_at)),
        )
        .where(C.council_id == council_id)
        .group_by(C.agency_id)
        .order_by(C.agency_id)
    )
    return [(a, o, d, late) for a, o, d, late in (await session.execute(stmt)).all()]
