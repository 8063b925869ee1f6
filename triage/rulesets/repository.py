"""The rule sets' SQL: versions by council, the one active version, version numbering, and
the recent contacts a dry run evaluates."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.triage import TriageContact, TriageRuleSet


async def find(
    session: AsyncSession, *, council_id: str, rule_set_id: uuid.UUID, lock: bool = False
) -> TriageRuleSet | None:
    stmt = select(TriageRuleSet).where(
        TriageRuleSet.id == rule_set_id, TriageRuleSet.council_id == council_id
    )
    if lock:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).one_or_none()


async def versions(session: AsyncSession, council_id: str) -> list[TriageRuleSet]:
    """Every version of the council's rule set, newest first."""
    stmt = (
        select(TriageRuleSet)
        .where(TriageRuleSet.council_id == council_id)
        .order_by(TriageRuleSet.version.desc())
    )
    return list((await session.scalars(stmt)).all())


async def active(session: AsyncSession, council_id: str) -> TriageRuleSet | None:
    stmt = select(TriageRuleSet).where(
        TriageRuleSet.council_id == council_id, TriageRuleSet.active.is_(True)
    )
    return (await session.scalars(stmt)).one_or_none()


async def previous_version(
    session: AsyncSession, council_id: str, version: int
) -> TriageRuleSet | None:
    stmt = select(TriageRuleSet).where(
        TriageRuleSet.council_id == council_id, TriageRuleSet.version < version
    )
    return (await session.scalars(stmt.order_by(TriageRuleSet.version.desc()))).first()


async def next_version(session: AsyncSession, council_id: str) -> int:
    # Serialise version numbering per council (two managers creating drafts at once).
    await session.execute(
        select(func.pg_advisory_xact_lock(func.hashtext(f"triage_rule_sets:{council_id}")))
    )
    current = await session.scalar(
        select(func.max(TriageRuleSet.version)).where(TriageRuleSet.council_id == council_id)
    )
    return (current or 0) + 1


async def add(session: AsyncSession, row: TriageRuleSet) -> TriageRuleSet:
    session.add(row)
    await session.flush()
    return row


async def deactivate(session: AsyncSession, council_id: str) -> None:
    """The council's active version stops being active (locked first: two publishers queue
    up instead of both winning)."""
    await session.execute(
        select(TriageRuleSet.id)
        .where(TriageRuleSet.council_id == council_id, TriageRuleSet.active.is_(True))
        .with_for_update()
    )
    await session.execute(
        update(TriageRuleSet)
        .where(TriageRuleSet.council_id == council_id, TriageRuleSet.active.is_(True))
        .values(active=False)
    )


async def recent_contacts(
    session: AsyncSession, council_id: str, since: datetime, limit: int
) -> Sequence[Row[uuid.UUID, str, datetime, dict[str, Any], dict[str, Any]]]:
    """The council's contacts received since `since`, newest first: id, reference, receipt,
    stored facts and stored evaluation (a dry run's input)."""
    stmt = (
        select(
            TriageContact.id,
            TriageContact.reference,
            TriageContact.received_at,
            TriageContact.facts,
            TriageContact.evaluation,
        )
        .where(TriageContact.council_id == council_id, TriageContact.received_at >= since)
        .order_by(TriageContact.received_at.desc())
        .limit(limit)
    )
    return (await session.execute(stmt)).all()
