"""The clocks feature's SQL: clock rows, the contact's queue keys, the scanner's claims."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.triage import TriageClock, TriageContact
from triage.clocks.exceptions import ClockNotFound


async def find_clock(session: AsyncSession, contact_id: uuid.UUID, kind: str) -> TriageClock | None:
    return await session.scalar(
        select(TriageClock).where(TriageClock.contact_id == contact_id, TriageClock.kind == kind)
    )


async def add_clock(session: AsyncSession, clock: TriageClock) -> TriageClock:
    session.add(clock)
    await session.flush()
    return clock


async def mark_met(
    session: AsyncSession, *, contact_id: uuid.UUID, kinds: tuple[str, ...], at: datetime
) -> None:
    """Running and paused clocks of these kinds become met; breached ones gain `met_at`."""
    await session.execute(
        update(TriageClock)
        .where(
            TriageClock.contact_id == contact_id,
            TriageClock.kind.in_(kinds),
            TriageClock.state.in_(("running", "paused")),
        )
        .values(state="met", met_at=at)
    )
    await session.execute(
        update(TriageClock)
        .where(
            TriageClock.contact_id == contact_id,
            TriageClock.kind.in_(kinds),
            TriageClock.state == "breached",
            TriageClock.met_at.is_(None),
        )
        .values(met_at=at)
    )


_REFRESH = text(
    """
    UPDATE triage_contacts c SET
      queue_deadline_at = COALESCE(
        (SELECT min(deadline_at) FROM triage_clocks k
          WHERE k.contact_id = c.id AND k.state = 'running'),
        c.queue_deadline_at),
      breached = EXISTS (SELECT 1 FROM triage_clocks k
          WHERE k.contact_id = c.id AND k.state = 'breached')
    WHERE c.id = ANY(:ids)
    """
)


async def refresh_queue_keys(session: AsyncSession, contact_ids: list[uuid.UUID]) -> None:
    """Recompute the denormalised queue keys (nearest running deadline, any breach)."""
    if not contact_ids:
        return
    await session.execute(_REFRESH, {"ids": contact_ids})
    wanted = set(contact_ids)
    loaded = [
        obj
        for obj in list(session.identity_map.values())
        if isinstance(obj, TriageContact) and obj.id in wanted
    ]
    for obj in loaded:
        await session.refresh(obj, ["queue_deadline_at", "breached"])


async def get_clock(session: AsyncSession, contact_id: uuid.UUID, kind: str) -> TriageClock:
    clock = await session.scalar(
        select(TriageClock)
        .where(TriageClock.contact_id == contact_id, TriageClock.kind == kind)
        .with_for_update()
    )
    if clock is None:
        raise ClockNotFound()
    return clock


# A breach also updates its contact (queue keys, the written follow-up chase), so the claim
# locks the contact with the clock and skips either when locked: a scanner never waits, so two
# scanners, or a scanner and a social worker's decision, can never deadlock.
_CLAIM_BREACHES = text(
    """
    WITH due AS (
      SELECT k.id FROM triage_clocks k JOIN triage_contacts c ON c.id = k.contact_id
      WHERE k.state = 'running' AND k.deadline_at <= :now
      ORDER BY k.deadline_at LIMIT :limit
      FOR UPDATE OF k, c SKIP LOCKED)
    UPDATE triage_clocks k
    SET state = 'breached', breached_at = k.deadline_at, breach_emitted_at = :now
    FROM due, triage_contacts c WHERE k.id = due.id AND c.id = k.contact_id
    RETURNING k.id, k.contact_id, k.kind, k.deadline_at, c.council_id, c.reference
    """
)

_CLAIM_DUE_SOON = text(
    """
    WITH due AS (
      SELECT id FROM triage_clocks
      WHERE state = 'running' AND due_soon_emitted_at IS NULL AND due_soon_at <= :now
      ORDER BY due_soon_at LIMIT :limit
      FOR UPDATE SKIP LOCKED)
    UPDATE triage_clocks k SET due_soon_emitted_at = :now
    FROM due, triage_contacts c WHERE k.id = due.id AND c.id = k.contact_id
    RETURNING k.id, k.contact_id, k.kind, k.deadline_at, c.council_id, c.reference
    """
)


@dataclass(frozen=True)
class ClaimedClock:
    """A clock the scanner claimed (and marked), with its contact's council and reference."""

    id: uuid.UUID
    contact_id: uuid.UUID
    kind: str
    deadline_at: datetime
    council_id: str
    reference: str


async def claim_breaches(session: AsyncSession, *, now: datetime, limit: int) -> list[ClaimedClock]:
    rows = (await session.execute(_CLAIM_BREACHES, {"now": now, "limit": limit})).all()
    return [ClaimedClock(*row) for row in rows]


async def claim_due_soon(session: AsyncSession, *, now: datetime, limit: int) -> list[ClaimedClock]:
    rows = (await session.execute(_CLAIM_DUE_SOON, {"now": now, "limit": limit})).all()
    return [ClaimedClock(*row) for row in rows]


@dataclass(frozen=True)
class ChasedContact:
    reference: str
    received_at: datetime
    council_id: str
    record: dict[str, object]


async def mark_follow_up_chased(
    session: AsyncSession, contact_id: uuid.UUID, now: datetime
) -> ChasedContact | None:
    """Mark the written follow-up as chased, once: None if it already was."""
    result = await session.execute(
        update(TriageContact)
        .where(TriageContact.id == contact_id, TriageContact.follow_up_overdue_emitted_at.is_(None))
        .values(follow_up_overdue_emitted_at=now)
        .returning(
            TriageContact.reference,
            TriageContact.received_at,
            TriageContact.council_id,
            TriageContact.record,
        )
    )
    row = result.first()
    return None if row is None else ChasedContact(*row)
