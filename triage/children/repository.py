"""SQL of the child's record: identities, links to contacts, flags, access, search."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.mash import MashChild, MashChildAccess, MashChildFlag, MashChildLink
from services.models.triage import TriageContact, TriageSubject
from triage.contacts.facts import SubjectKeys

# A search returns at most this many children (a worker narrows a longer list).
SEARCH_LIMIT = 50


def match_clause(key: SubjectKeys) -> ColumnElement[bool] | None:
    """The re-referral check's rule: NHS number, UPN, or normalised name + date of birth."""
    clauses: list[ColumnElement[bool]] = []
    if key.nhs_number:
        clauses.append(MashChild.nhs_number == key.nhs_number)
    if key.upn:
        clauses.append(MashChild.upn == key.upn)
    if key.family_name_norm and key.given_name_norm and key.date_of_birth:
        clauses.append(
            tuple_(MashChild.family_name_norm, MashChild.given_name_norm, MashChild.date_of_birth)
            == tuple_(key.family_name_norm, key.given_name_norm, key.date_of_birth)
        )
    return or_(*clauses) if clauses else None


async def matching(session: AsyncSession, council_id: str, key: SubjectKeys) -> Sequence[MashChild]:
    clause = match_clause(key)
    if clause is None:
        return []
    stmt = (
        select(MashChild)
        .where(MashChild.council_id == council_id, clause)
        .order_by(MashChild.created_at)
        .limit(10)
    )
    return (await session.scalars(stmt)).all()


async def get_child(
    session: AsyncSession, council_id: str, child_id: uuid.UUID
) -> MashChild | None:
    stmt = select(MashChild).where(MashChild.id == child_id, MashChild.council_id == council_id)
    return await session.scalar(stmt.with_for_update())


async def named(session: AsyncSession, child_id: uuid.UUID) -> set[str]:
    rows = await session.scalars(
        select(MashChildAccess.sub).where(MashChildAccess.child_id == child_id)
    )
    return set(rows.all())


async def flags(session: AsyncSession, child_id: uuid.UUID) -> Sequence[MashChildFlag]:
    stmt = (
        select(MashChildFlag)
        .where(MashChildFlag.child_id == child_id)
        .order_by(MashChildFlag.set_at, MashChildFlag.id)
    )
    return (await session.scalars(stmt)).all()


async def links_for_contact(
    session: AsyncSession, contact_id: uuid.UUID
) -> Sequence[MashChildLink]:
    stmt = (
        select(MashChildLink)
        .where(MashChildLink.contact_id == contact_id)
        .order_by(MashChildLink.subject_position)
    )
    return (await session.scalars(stmt)).all()


async def get_link(session: AsyncSession, link_id: uuid.UUID) -> MashChildLink | None:
    return await session.scalar(
        select(MashChildLink).where(MashChildLink.id == link_id).with_for_update()
    )


async def subject(
    session: AsyncSession, contact_id: uuid.UUID, position: int
) -> TriageSubject | None:
    return await session.scalar(
        select(TriageSubject).where(
            TriageSubject.contact_id == contact_id, TriageSubject.position == position
        )
    )


async def contacts_of(session: AsyncSession, child_ids: Sequence[uuid.UUID]) -> Sequence[Any]:
    """The children's contacts, newest first: only the columns a result shows."""
    if not child_ids:
        return []
    c = TriageContact
    stmt = (
        select(
            MashChildLink.child_id,
            MashChildLink.state,
            c.id,
            c.reference,
            c.received_at,
            c.status,
            c.outcome,
        )
        .join(c, c.id == MashChildLink.contact_id)
        .where(MashChildLink.child_id.in_(child_ids))
        .order_by(c.received_at.desc())
    )
    return (await session.execute(stmt)).all()


async def search(
    session: AsyncSession,
    *,
    council_id: str,
    names: Sequence[str],
    date_of_birth: date | None,
    nhs_number: str | None,
    upn: str | None,
    postcode: str | None,
) -> Sequence[MashChild]:
    c = MashChild
    where: list[ColumnElement[bool]] = [c.council_id == council_id]
    if len(names) == 1:
        token = names[0]
        where.append(or_(c.family_name_norm == token, c.given_name_norm == token))
    elif names:
        first, last = names[0], names[-1]
        where.append(
            or_(
                and_(c.family_name_norm == last, c.given_name_norm.startswith(first)),
                and_(c.family_name_norm == first, c.given_name_norm.startswith(last)),
            )
        )
    if date_of_birth is not None:
        where.append(c.date_of_birth == date_of_birth)
    if nhs_number is not None:
        where.append(c.nhs_number == nhs_number)
    if upn is not None:
        where.append(c.upn == upn)
    if postcode is not None:
        where.append(c.postcode == postcode)
    stmt = select(c).where(*where).order_by(c.family_name_norm, c.given_name_norm, c.id)
    return (await session.scalars(stmt.limit(SEARCH_LIMIT))).all()


async def accessible(
    session: AsyncSession, sub: str, child_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    if not child_ids:
        return set()
    rows = await session.scalars(
        select(MashChildAccess.child_id).where(
            MashChildAccess.sub == sub, MashChildAccess.child_id.in_(child_ids)
        )
    )
    return set(rows.all())
