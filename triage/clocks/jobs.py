"""The clock scanner (a periodic job of the worker): due-soon warnings and breaches.

The scanner claims clocks with `FOR UPDATE SKIP LOCKED` and marks them in the same
statement, so each `clock.due_soon` / `clock.breached` event is emitted exactly once even
with several workers scanning at the same time.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.db import transaction
from services.events.contracts import (
    ClockBreached,
    ClockDueSoon,
    ClockEvent,
    WrittenFollowUpOverdue,
)
from services.events.outbox import emit
from triage.clocks import repository
from triage.clocks.repository import ClaimedClock
from triage.settings import TriageSettings

PRODUCER = "triage"


async def _emit_clock(
    session: AsyncSession, event: type[ClockEvent], row: ClaimedClock, state: str
) -> None:
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


def referrer_email(record: Mapping[str, object]) -> str | None:
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
    row = await repository.mark_follow_up_chased(session, contact_id, now)
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
    breached = await repository.claim_breaches(session, now=now, limit=limit)
    for row in breached:
        await _emit_clock(session, ClockBreached, row, "breached")
        if row.kind == "written_follow_up":
            await _chase_written_follow_up(session, row.contact_id, now)
    warned = await repository.claim_due_soon(session, now=now, limit=limit)
    for row in warned:
        await _emit_clock(session, ClockDueSoon, row, "running")
    await repository.refresh_queue_keys(session, list({r.contact_id for r in breached}))
    return len(breached) + len(warned)


def clock_scan_job(
    settings: TriageSettings,
) -> Callable[[async_sessionmaker[AsyncSession]], Awaitable[int]]:
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
