"""The consumer of `contact.decided`: a decision that leads to an assessment, a strategy
discussion or a transfer becomes one handover for the case system (once per contact and
type, however often the event is delivered)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.events.contracts import ContactDecided
from services.models.platform import OutboxEvent
from services.models.triage import TriageContact
from triage.handover import repository
from triage.handover.payload import HANDOVER_TYPES, event_body, message_id
from triage.mash.access import record
from triage.settings import get_triage_settings


async def handle_contact_decided(session: AsyncSession, event: OutboxEvent) -> None:
    decided = ContactDecided.model_validate(event.payload)
    handover_type = HANDOVER_TYPES.get(decided.outcome)
    if handover_type is None:
        return
    contact = await session.get(TriageContact, decided.contact_id)
    if contact is None:
        return
    handover_id = uuid.uuid4()
    body = event_body(
        handover_id=handover_id,
        contact_id=contact.id,
        contact_reference=contact.reference,
        handover_type=handover_type,
        outcome=decided.outcome,
        decided_at=decided.decided_at,
        base_url=get_triage_settings().public_base_url,
    )
    created = await repository.create_once(
        session,
        {
            "id": handover_id,
            "contact_id": contact.id,
            "council_id": contact.council_id,
            "handover_type": handover_type,
            "outcome": decided.outcome,
            "message_id": message_id(handover_id),
            "body": body,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": datetime.now(UTC),
        },
    )
    if created:
        await record(session, None, "handover.created", "contact", contact.id)
