"""Clock rows: start, meet, pause/resume, and the scanner that raises due-soon and breaches.

The scanner claims clocks with `FOR UPDATE SKIP LOCKED` and marks them in the same
statement, so each `clock.due_soon` / `clock.breached` event is emitted exactly once even
with several workers scanning at the same time.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.calendar import WorkingCalendar
from services.db import transaction
from services.errors import FieldError
from services.events.contracts import (
    ClockBreached,
    ClockDueSoon,
    ClockEvent,
    WrittenFollowUpOverdue,
)
from services.events.outbox import emit
from services.models.triage import TriageClock, TriageContact
from triage.clocks import deadline, due_soon
from triage.exceptions import ClockMetInvalid, ClockNotFound, ClockStateConflict
from triage.settings import TriageSettings

PRODUCER = "triage"


async def start_clock(
    session: AsyncSession,
    *,
    contact_id: uuid.UUID,
    kind: str,
    start: datetime,
    calendar: WorkingCalendar,
    settings: TriageSettings,
    amount: int | None = None,
) -> TriageClock:
    """Start (or restart, if it already exists and is not running) a clock."""
    due = deadline(kind, start, calendar, amount)
    warn = due_soon(
        start, due, short_hours=settings.due_soon_hours, long_days=settings.due_soon_long_days
    )
    existing = await session.scalar(
        select(TriageClock).where(TriageClock.contact_id == contact_id, TriageClock.kind == kind)
    )
    if existing is not None:
        return existing
    clock = TriageClock(
        id=uuid.uuid4(),
        contact_id=contact_id,
        kind=kind,
        started_at=start,
        deadline_at=due,
        due_soon_at=warn,
        state="running",
    )
    session.add(clock)
    await session.flush()
    return clock


async def meet_clocks(
    session: AsyncSession, *, contact_id: uuid.UUID, kinds: tuple[str, ...], at: datetime
) -> None:
    """Record that these clocks' work is done (a breached clock keeps its breach)."""
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


async def pause_clock(
    session: AsyncSession, *, contact_id: uuid.UUID, kind: str, reason: str, at: datetime
) -> TriageClock:
    clock = await get_clock(session, contact_id, kind)
    if clock.state != "running":
        raise ClockStateConflict("Only a running clock can be paused.")
    clock.state, clock.paused_at, clock.paused_reason = "paused", at, reason
    await session.flush()
    await refresh_queue_keys(session, [contact_id])
    return clock


async def resume_clock(
    session: AsyncSession, *, contact_id: uuid.UUID, kind: str, at: datetime
) -> TriageClock:
    """Resume a paused clock; its deadline moves on by the time it stood still."""
    clock = await get_clock(session, contact_id, kind)
    if clock.state != "paused" or clock.paused_at is None:
        raise ClockStateConflict("Only a paused clock can be resumed.")
    stood = at - clock.paused_at
    clock.deadline_at += stood
    clock.due_soon_at += stood
    clock.state, clock.resumed_at = "running", at
    await session.flush()
    await refresh_queue_keys(session, [contact_id])
    return clock


# Clocks met by a worker recording the event (the others are met by the workflow itself):
# the assessment authorised (s17, 45 working days) and the initial child protection
# conference held (15 working days after the strategy discussion).
RECORDED_CLOCKS = ("assessment", "icpc")


async def meet_clock(
    session: AsyncSession, *, contact_id: uuid.UUID, kind: str, at: datetime
) -> TriageClock:
    """Record that a clock's event happened at `at` (a late one keeps its breach)."""
    clock = await get_clock(session, contact_id, kind)
    if clock.met_at is not None:
        raise ClockStateConflict("This clock is already met.")
    if at < clock.started_at:
        reason = "is before the clock started"
        raise ClockMetInvalid(fields=[FieldError(path="met_at", reason=reason)])
    if clock.state in ("running", "paused"):
        clock.state = "met"
    clock.met_at = at
    await session.flush()
    await refresh_queue_keys(session, [contact_id])
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


async def _emit_clock(session: AsyncSession, event: type[ClockEvent], row: Any, state: str) -> None:
    payload = event(
        clock_id=row.id,
        contact_id=row.contact_id,
        kind=row.kind,
        deadline_at=row.deadline_at,
        state=state,  # type: ignore[arg-type]
        council_id=row.council_id,
        contact_reference=row.reference,
    )
    await emit(session, payload, producer=PRODUCER)


def referrer_email(record: dict[str, Any]) -> str | None:
    """The referrer's email as the front door recorded it (phone contact or MARF)."""
    for source in (record.get("contact"), record.get("phone"), record.get("marf")):
        if isinstance(source, dict):
            if (found := referrer_email(source)) is not None:
                return found
            referrer = source.get("referrer")
            if isinstance(referrer, dict) and isinstance(referrer.get("email"), str):
                return str(referrer["email"])
    return None


async def _chase_written_follow_up(
    session: AsyncSession, contact_id: uuid.UUID, now: datetime
) -> None:
    """A phone referral with no MARF by its deadline is chased, once."""
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
    if row is None:
        return
    payload = WrittenFollowUpOverdue(
        contact_id=contact_id,
        contact_reference=row.reference,
        council_id=row.council_id,
        phone_call_at=row.received_at,
        overdue_at=now,
        referrer_email=referrer_email(row.record),
    )
    await emit(session, payload, producer=PRODUCER)


async def scan_clocks(session: AsyncSession, *, now: datetime, limit: int) -> int:
    """One pass: breach what is overdue, warn what is due soon. Returns events emitted."""
    breached = (await session.execute(_CLAIM_BREACHES, {"now": now, "limit": limit})).all()
    for row in breached:
        await _emit_clock(session, ClockBreached, row, "breached")
        if row.kind == "written_follow_up":
            await _chase_written_follow_up(session, row.contact_id, now)
    warned = (await session.execute(_CLAIM_DUE_SOON, {"now": now, "limit": limit})).all()
    for row in warned:
        await _emit_clock(session, ClockDueSoon, row, "running")
    await refresh_queue_keys(session, list({r.contact_id for r in breached}))
    return len(breached) + len(warned)


def clock_scan_job(settings: TriageSettings) -> Any:
    async def job(maker: async_sessionmaker[AsyncSession]) -> int:
        total = 0
        for _ in range(20):  # bounded: at most 20 batches per tick
            async with transaction(maker) as session:
                done = await scan_clocks(
                    session, now=datetime.now(UTC), limit=settings.clock_scan_batch
                )
            total += done
            if done < settings.clock_scan_batch:
                break
        return total

    return job
