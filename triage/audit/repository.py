"""Reading the audit trail (the auditor's view): the council's rows, newest first, filtered.

The rows are the platform's `audit_log`, read-only here. "By child" starts from a contact
(and optionally one subject's position on it) and follows the same children across the
council's contacts by NHS number or UPN (the identifiers the front door matches on), then
shows every row about those contacts and the referrals they came from: no identifier ever
travels in a query string.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.platform import AuditEntry
from services.models.triage import TriageContact, TriageSubject
from services.paging import Page, decode_cursor, page_of
from triage.audit.schemas import AuditRow


@dataclass(frozen=True)
class AuditFilters:
    child_contact_id: uuid.UUID | None = None
    child_position: int | None = None
    actor_sub: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None


async def _child_clause(
    session: AsyncSession, council_id: str, contact_id: uuid.UUID, position: int | None
) -> ColumnElement[bool]:
    query = select(TriageSubject).where(
        TriageSubject.contact_id == contact_id, TriageSubject.council_id == council_id
    )
    if position is not None:
        query = query.where(TriageSubject.position == position)
    subjects = list((await session.scalars(query)).all())
    if not subjects:
        return false()
    same_child: list[ColumnElement[bool]] = [TriageSubject.contact_id == contact_id]
    for subject in subjects:
        if subject.nhs_number:
            same_child.append(TriageSubject.nhs_number == subject.nhs_number)
        if subject.upn:
            same_child.append(TriageSubject.upn == subject.upn)
    rows = (
        await session.execute(
            select(TriageContact.id, TriageContact.referral_id)
            .join(TriageSubject, TriageSubject.contact_id == TriageContact.id)
            .where(TriageSubject.council_id == council_id, or_(*same_child))
        )
    ).all()
    contacts = sorted({str(c) for c, _ in rows})
    referrals = sorted({str(r) for _, r in rows if r is not None})
    return or_(
        and_(AuditEntry.entity_type == "contact", AuditEntry.entity_id.in_(contacts)),
        and_(AuditEntry.entity_type == "referral", AuditEntry.entity_id.in_(referrals)),
    )


async def list_audit(
    session: AsyncSession,
    *,
    council_id: str,
    filters: AuditFilters,
    cursor: str | None,
    limit: int,
) -> Page[AuditRow]:
    """One page of the council's audit rows, newest first (keyset on the row id)."""
    query = select(AuditEntry).where(AuditEntry.council_id == council_id)
    if cursor is not None:
        (after,) = decode_cursor(cursor, (int,))
        query = query.where(AuditEntry.id < after)
    if filters.child_contact_id is not None:
        child = await _child_clause(
            session, council_id, filters.child_contact_id, filters.child_position
        )
        query = query.where(child)
    if filters.actor_sub is not None:
        query = query.where(AuditEntry.actor_sub == filters.actor_sub)
    if filters.entity_type is not None:
        query = query.where(AuditEntry.entity_type == filters.entity_type)
    if filters.entity_id is not None:
        query = query.where(AuditEntry.entity_id == filters.entity_id)
    if filters.occurred_from is not None:
        query = query.where(AuditEntry.occurred_at >= filters.occurred_from)
    if filters.occurred_to is not None:
        query = query.where(AuditEntry.occurred_at < filters.occurred_to)
    rows = list(
        (await session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit + 1))).all()
    )
    page = page_of(rows, limit=limit, key=lambda row: (row.id,))
    return Page[AuditRow](
        items=[AuditRow.model_validate(r, from_attributes=True) for r in page.items],
        limit=limit,
        next_cursor=page.next_cursor,
    )
