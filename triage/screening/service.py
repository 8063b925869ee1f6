"""RAG screening: a rating with its reason and who set it, each change kept as history.

The rating sets the contact's MASH clock (kind `mash`), measured from receipt in the unit
the council configures for that RAG (working hours by default; red in elapsed hours, since a
red contact is worked to completion out of hours). A review moves the running clock's
deadline; a clock already breached stays breached (the breach happened) and one already met
stays met. The contact's `rag` (what the queue shows) becomes the screened rating.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.auth import Principal
from services.models.mash import MashRagRating
from services.models.triage import OPEN_STATUSES, TriageClock, TriageContact
from triage.clocks.repository import refresh_queue_keys
from triage.clocks.rules import due_soon
from triage.mash.access import load_mash_config, mash_contact, record
from triage.screening import repository
from triage.screening.exceptions import ContactClosed, RagUnchanged
from triage.screening.schemas import RagCreate, RagHistory, RagRead
from triage.settings import TriageSettings


async def rate(
    session: AsyncSession,
    *,
    principal: Principal,
    contact_id: uuid.UUID,
    body: RagCreate,
    settings: TriageSettings,
) -> MashRagRating:
    """Record a RAG rating (the first, or a review that changes it)."""
    contact = await mash_contact(session, principal, contact_id, lock=True)
    if contact.status not in OPEN_STATUSES:
        raise ContactClosed()
    previous = await repository.latest(session, contact.id)
    if previous is not None and previous.rag == body.rag:
        raise RagUnchanged()
    config = await load_mash_config(session, contact.council_id)
    now = datetime.now(UTC)
    rating = MashRagRating(
        id=uuid.uuid4(),
        contact_id=contact.id,
        rag=body.rag,
        previous_rag=previous.rag if previous else None,
        reason=body.reason,
        set_by=principal.sub,
        set_at=now,
        due_at=config.contact_due(body.rag, contact.received_at),
    )
    repository.add(session, rating)
    contact.rag = body.rag
    await _set_clock(session, contact, rating.due_at, settings)
    await session.flush()
    await refresh_queue_keys(session, [contact.id])
    await record(session, principal, "contact.rag", "contact", contact.id)
    return rating


async def _set_clock(
    session: AsyncSession, contact: TriageContact, due: datetime, settings: TriageSettings
) -> None:
    warn = due_soon(
        contact.received_at,
        due,
        short_hours=settings.due_soon_hours,
        long_days=settings.due_soon_long_days,
    )
    clock = await repository.mash_clock(session, contact.id)
    if clock is None:
        clock = TriageClock(
            id=uuid.uuid4(),
            contact_id=contact.id,
            kind=repository.MASH_CLOCK,
            started_at=contact.received_at,
            deadline_at=due,
            due_soon_at=warn,
            state="running",
        )
        repository.add(session, clock)
    elif clock.state == "running":
        clock.deadline_at, clock.due_soon_at, clock.due_soon_emitted_at = due, warn, None


async def history(
    session: AsyncSession, *, principal: Principal, contact_id: uuid.UUID
) -> RagHistory:
    contact = await mash_contact(session, principal, contact_id)
    rows = [RagRead.model_validate(r) for r in await repository.ratings(session, contact.id)]
    await record(session, principal, "contact.rag.read", "contact", contact.id)
    return RagHistory(
        contact_id=contact.id,
        current=rows[-1].rag if rows else None,
        due_at=rows[-1].due_at if rows else None,
        history=rows,
    )
