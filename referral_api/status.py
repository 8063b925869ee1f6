"""What the referrer sees follows the triage service's events, never its tables.

Handlers are idempotent at the business level: a replayed or out-of-order event never moves a
referral backwards (a late `contact.triaged` does not undo `decided`), and only a newer
decision or feedback replaces an older one. Events about contacts that did not come from a
referral (`referral_id` None), from another deployment's referral, or from another council
than the referral's are ignored.
"""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from referral_api import repository
from services import audit
from services.events.consumer import Consumer
from services.events.contracts import ContactDecided, ContactFeedbackGiven, ContactTriaged
from services.models.platform import OutboxEvent
from services.models.referral import Referral

CONSUMER = "referral_api.status"
SERVICE = "referral_api"
log = structlog.get_logger(__name__)


async def _referral(
    session: AsyncSession, referral_id: uuid.UUID | None, council_id: str
) -> Referral | None:
    if referral_id is None:
        return None
    referral = await repository.get_referral_for_update(session, referral_id)
    if referral is not None and referral.council_id != council_id:
        log.warning("status_event_for_another_council", referral_id=str(referral_id))
        return None
    return referral


def _link_contact(referral: Referral, contact_id: uuid.UUID, reference: str | None) -> None:
    if referral.contact_id is None:
        referral.contact_id = contact_id
    if reference and referral.contact_reference is None:
        referral.contact_reference = reference


async def on_contact_triaged(session: AsyncSession, event: OutboxEvent) -> None:
    payload = ContactTriaged.model_validate(event.payload)
    referral = await _referral(session, payload.referral_id, payload.council_id)
    if referral is None or referral.triaged_at is not None:
        return
    _link_contact(referral, payload.contact_id, payload.contact_reference)
    referral.triaged_at = payload.at
    if referral.status == "received":
        referral.status, referral.status_changed_at = "in_triage", payload.at
    await audit.record(
        session,
        service=SERVICE,
        actor=None,
        action="referral.status_in_triage",
        entity_id=referral.id,
        council_id=referral.council_id,
    )
    await session.flush()  # the change is written before the handler returns


async def on_contact_decided(session: AsyncSession, event: OutboxEvent) -> None:
    payload = ContactDecided.model_validate(event.payload)
    referral = await _referral(session, payload.referral_id, payload.council_id)
    if referral is None:
        return
    if referral.decided_at is not None and referral.decided_at >= payload.decided_at:
        return
    _link_contact(referral, payload.contact_id, None)
    referral.decided_at = payload.decided_at
    referral.outcome = payload.outcome
    referral.outcome_summary = payload.outcome_summary
    referral.next_steps = payload.next_steps
    referral.status, referral.status_changed_at = "decided", payload.decided_at
    await audit.record(
        session,
        service=SERVICE,
        actor=None,
        action="referral.status_decided",
        entity_id=referral.id,
        council_id=referral.council_id,
    )
    await session.flush()  # the change is written before the handler returns


async def on_feedback_given(session: AsyncSession, event: OutboxEvent) -> None:
    payload = ContactFeedbackGiven.model_validate(event.payload)
    referral = await _referral(session, payload.referral_id, payload.council_id)
    if referral is None:
        return
    given = referral.feedback_given_at
    if given is not None and given >= payload.given_at:
        return
    _link_contact(referral, payload.contact_id, None)
    referral.feedback = payload.feedback
    referral.feedback_next_steps = payload.next_steps
    referral.feedback_given_at = payload.given_at
    await audit.record(
        session,
        service=SERVICE,
        actor=None,
        action="referral.feedback_recorded",
        entity_id=referral.id,
        council_id=referral.council_id,
    )
    await session.flush()  # the change is written before the handler returns


def status_consumer() -> Consumer:
    return Consumer(
        name=CONSUMER,
        handlers={
            "contact.triaged": on_contact_triaged,
            "contact.decided": on_contact_decided,
            "contact.feedback_given": on_feedback_given,
        },
    )
