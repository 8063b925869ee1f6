"""Reading handovers: the case system reads the full record (audited); MASH staff read the
delivery state and the attempt log."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.auth import Principal
from services.models.mash import MashHandover
from services.models.triage import TriageContact
from triage.checks import repository as checks_repository
from triage.checks.service import check_read
from triage.handover import repository
from triage.handover.exceptions import HandoverNotFound
from triage.handover.schemas import AttemptRead, HandoverDecision, HandoverRead, HandoverRecord
from triage.mash.access import load_mash_config, mash_contact, record
from triage.notes import repository as notes_repository
from triage.notes.service import note_reads
from triage.screening import repository as screening_repository
from triage.screening.schemas import RagRead
from triage.strategy import repository as strategy_repository
from triage.strategy.service import discussion_read


async def contact_handovers(
    session: AsyncSession, *, principal: Principal, contact_id: uuid.UUID
) -> list[HandoverRead]:
    contact = await mash_contact(session, principal, contact_id)
    rows = await repository.for_contact(session, contact.id)
    attempts = await repository.attempts(session, [r.id for r in rows])
    await record(session, principal, "handover.read_state", "contact", contact.id)
    return [_read(r, [a for a in attempts if a.handover_id == r.id]) for r in rows]


def _read(row: MashHandover, attempts: list[object]) -> HandoverRead:
    return HandoverRead(
        id=row.id,
        contact_id=row.contact_id,
        handover_type=row.handover_type,
        outcome=row.outcome,
        message_id=row.message_id,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        attempt_log=[AttemptRead.model_validate(a) for a in attempts],
    )


async def full_record(
    session: AsyncSession, *, principal: Principal, handover_id: uuid.UUID
) -> HandoverRecord:
    """What the case system fetches after the event: the whole contact and the MASH's work."""
    handover = await repository.get(session, principal.council_id, handover_id)
    if handover is None:
        raise HandoverNotFound()
    contact = await session.get(TriageContact, handover.contact_id)
    assert contact is not None  # a handover is deleted with its contact
    config = await load_mash_config(session, contact.council_id)
    now = datetime.now(UTC)
    today = now.astimezone(config.calendar.zone).date()
    decision = await repository.latest_decision(session, contact.id)
    discussions = await strategy_repository.for_contact(session, contact.id)
    actions = await strategy_repository.actions(session, [d.id for d in discussions])
    checks = await checks_repository.for_contact(session, contact.id)
    await record(session, principal, "handover.read", "contact", contact.id)
    return HandoverRecord(
        handover_id=handover.id,
        handover_type=handover.handover_type,
        contact_id=contact.id,
        contact_reference=contact.reference,
        received_at=contact.received_at,
        channel=contact.channel,
        kind=contact.kind,
        level=contact.level,
        rag=contact.rag,
        record=contact.record,
        decision=HandoverDecision.model_validate(decision) if decision else None,
        rag_history=[
            RagRead.model_validate(r)
            for r in await screening_repository.ratings(session, contact.id)
        ],
        checks=[check_read(c, config, now) for c in checks],
        strategy_discussions=[discussion_read(d, actions, today) for d in discussions],
        notes=note_reads(await notes_repository.for_contact(session, contact.id)),
    )
