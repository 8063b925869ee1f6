"""Clocks: start, meet, pause and resume them (the SQL in repository.py, the arithmetic in
rules.py, the scanner in jobs.py), and the clock endpoints' work, each change audited."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services import audit
from services.auth import Principal
from services.calendar import WorkingCalendar
from services.errors import FieldError
from services.models.triage import TriageClock
from triage.clocks import repository
from triage.clocks.exceptions import ClockMetInvalid, ClockStateConflict
from triage.clocks.rules import deadline, due_soon
from triage.contacts import read
from triage.contacts.access import contact_for
from triage.contacts.schemas import ClockRead
from triage.council.config import load_council
from triage.settings import TriageSettings

SERVICE = "triage"


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
    existing = await repository.find_clock(session, contact_id, kind)
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
    return await repository.add_clock(session, clock)


async def meet_clocks(
    session: AsyncSession, *, contact_id: uuid.UUID, kinds: tuple[str, ...], at: datetime
) -> None:
    """Record that these clocks' work is done (a breached clock keeps its breach)."""
    await repository.mark_met(session, contact_id=contact_id, kinds=kinds, at=at)


async def pause_clock(
    session: AsyncSession, *, contact_id: uuid.UUID, kind: str, reason: str, at: datetime
) -> TriageClock:
    clock = await repository.get_clock(session, contact_id, kind)
    if clock.state != "running":
        raise ClockStateConflict("Only a running clock can be paused.")
    clock.state, clock.paused_at, clock.paused_reason = "paused", at, reason
    await session.flush()
    await repository.refresh_queue_keys(session, [contact_id])
    return clock


async def resume_clock(
    session: AsyncSession, *, contact_id: uuid.UUID, kind: str, at: datetime
) -> TriageClock:
    """Resume a paused clock; its deadline moves on by the time it stood still."""
    clock = await repository.get_clock(session, contact_id, kind)
    if clock.state != "paused" or clock.paused_at is None:
        raise ClockStateConflict("Only a paused clock can be resumed.")
    stood = at - clock.paused_at
    clock.deadline_at += stood
    clock.due_soon_at += stood
    clock.state, clock.resumed_at = "running", at
    await session.flush()
    await repository.refresh_queue_keys(session, [contact_id])
    return clock


# Clocks met by a worker recording the event (the others are met by the workflow itself):
# the assessment authorised (s17, 45 working days) and the initial child protection
# conference held (15 working days after the strategy discussion).
RECORDED_CLOCKS = ("assessment", "icpc")


async def meet_clock(
    session: AsyncSession, *, contact_id: uuid.UUID, kind: str, at: datetime
) -> TriageClock:
    """Record that a clock's event happened at `at` (a late one keeps its breach)."""
    clock = await repository.get_clock(session, contact_id, kind)
    if clock.met_at is not None:
        raise ClockStateConflict("This clock is already met.")
    if at < clock.started_at:
        reason = "is before the clock started"
        raise ClockMetInvalid(fields=[FieldError(path="met_at", reason=reason)])
    if clock.state in ("running", "paused"):
        clock.state = "met"
    clock.met_at = at
    await session.flush()
    await repository.refresh_queue_keys(session, [contact_id])
    return clock


async def _answer(
    session: AsyncSession,
    principal: Principal,
    clock: TriageClock,
    council_id: str,
    action: str,
    met_by: dict[str, str] | None = None,
) -> ClockRead:
    council = await load_council(session, council_id)
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action=action,
        entity_type="contact",
        entity_id=clock.contact_id,
    )
    return read.clock_read(clock, council.calendar.zone, met_by)


async def pause(
    session: AsyncSession, *, principal: Principal, contact_id: uuid.UUID, kind: str, reason: str
) -> ClockRead:
    """`POST …/clocks/{kind}/pause` (managers): pause with a recorded reason."""
    contact = await contact_for(session, principal, contact_id)
    clock = await pause_clock(
        session, contact_id=contact.id, kind=kind, reason=reason, at=datetime.now(UTC)
    )
    return await _answer(session, principal, clock, contact.council_id, "clock.pause")


async def resume(
    session: AsyncSession, *, principal: Principal, contact_id: uuid.UUID, kind: str
) -> ClockRead:
    """`POST …/clocks/{kind}/resume` (managers): the deadline moves on by the time paused."""
    contact = await contact_for(session, principal, contact_id)
    clock = await resume_clock(session, contact_id=contact.id, kind=kind, at=datetime.now(UTC))
    return await _answer(session, principal, clock, contact.council_id, "clock.resume")


async def record_met(
    session: AsyncSession,
    *,
    principal: Principal,
    contact_id: uuid.UUID,
    kind: str,
    met_at: datetime | None,
) -> ClockRead:
    """`POST …/clocks/{assessment|icpc}/met`: the assessment authorised or the ICPC held."""
    contact = await contact_for(session, principal, contact_id)
    clock = await meet_clock(
        session, contact_id=contact.id, kind=kind, at=met_at or datetime.now(UTC)
    )
    action = f"{read.MET_ACTION}{kind}"
    return await _answer(
        session, principal, clock, contact.council_id, action, {kind: principal.sub}
    )
