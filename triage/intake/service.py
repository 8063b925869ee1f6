"""Intake: a MARF from referral_api (`referral.received`) or an addendum becoming a contact.

Replays do nothing twice: a referral id makes one contact (unique), an addendum id one
addendum. A MARF that follows up a phone call quoting the phone contact's reference is
added to that contact (its clocks already run from the call) and meets its 24-hour
written-follow-up clock, but only when it is the same referrer's call about the same child
at the same time (triage.intake.phone_join); otherwise it is its own contact that "claims
to follow up" the phone contact, for a worker to reconcile.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services import audit
from services.contracts.marf import Marf
from services.events.contracts import ContactTriaged, ReferralAddendumAdded, ReferralReceived
from services.events.outbox import emit
from services.models.triage import TriageContact
from triage.clocks.repository import refresh_queue_keys
from triage.clocks.service import meet_clocks
from triage.contacts.exceptions import ContactNotFound
from triage.contacts.facts import facts_from_marf, facts_from_subjects
from triage.contacts.opening import (
    NewContact,
    apply_evaluation,
    assess,
    local_today,
    open_contact,
    replace_subjects,
)
from triage.council.config import CouncilConfig, load_council
from triage.intake import phone_join, repository
from triage.screening import repository as screening_ratings
from triage.settings import TriageSettings, get_triage_settings

SERVICE = "triage"
# CIN referral sources that are members of the public (everyone else is a professional).
PUBLIC_SOURCES = frozenset({"1A", "1B", "1C", "1D", "9"})
STORED = {"stored": True}


def _marf_facts(marf: Marf, today: date) -> dict[str, Any]:
    facts = facts_from_marf(marf, today=today, in_office_hours=True, previous_referrals_12m=0)
    facts.pop("previous_referrals_12m")
    facts.pop("in_office_hours")
    return facts


async def emit_triaged(session: AsyncSession, contact: TriageContact) -> None:
    payload = ContactTriaged(
        contact_id=contact.id,
        contact_reference=contact.reference,
        referral_id=contact.referral_id,
        at=datetime.now(UTC),
        council_id=contact.council_id,
    )
    await emit(session, payload, producer=SERVICE)


async def join_phone_contact(
    session: AsyncSession,
    contact: TriageContact,
    payload: ReferralReceived,
    marf: Marf,
    settings: TriageSettings,
) -> None:
    """Add the MARF to the phone contact: what the call recorded stays as it was."""
    council = await load_council(session, contact.council_id)
    zone = council.calendar.zone
    subjects, _added = phone_join.merged_subjects(phone_join.phone_subjects(contact), marf.subjects)
    contact.referral_id, contact.referral_reference = payload.referral_id, payload.reference
    contact.record = {
        "source": "phone_then_marf",
        "phone": contact.record,
        "marf": payload.marf,
        # The children as the contact now has them, in subject-position order (the call's,
        # then those the MARF adds): whatever reads a child by position reads this list.
        "subjects": [s.model_dump(mode="json") for s in subjects],
    }
    contact.written_follow_up_at = payload.submitted_at
    contact.consent_state = contact.consent_state or marf.consent.state
    contact.child_voice_present = contact.child_voice_present or not marf.child_voice_missing
    contact.wants_feedback = contact.wants_feedback or marf.referrer.wants_feedback
    today = local_today(contact.received_at, zone)
    recorded = {**contact.facts, **facts_from_subjects(subjects, today)}
    facts, evaluation, keys, rule_set = await assess(
        session,
        council=council,
        settings=settings,
        subjects=subjects,
        base_facts=phone_join.merged_facts(recorded, _marf_facts(marf, today)),
        received_at=contact.received_at,
        exclude=contact.id,
    )
    contact.facts = facts
    contact.previous_referrals_12m = facts["previous_referrals_12m"]
    contact.re_referral = contact.previous_referrals_12m > 0
    if contact.status == "open":
        apply_evaluation(contact, evaluation, rule_set)
        # A social worker's screening RAG outranks the rules' proposal (triage.screening).
        screened = await screening_ratings.latest(session, contact.id)
        if screened is not None:
            contact.rag = screened.rag
    await replace_subjects(session, contact, subjects, keys, zone)
    await meet_clocks(
        session, contact_id=contact.id, kinds=("written_follow_up",), at=payload.submitted_at
    )
    await session.flush()
    await refresh_queue_keys(session, [contact.id])


def _from_marf(payload: ReferralReceived, marf: Marf, council: CouncilConfig) -> NewContact:
    return NewContact(
        council=council,
        channel="api",
        kind="marf",
        received_at=payload.received_at,
        recorded_by=f"agency:{payload.agency_id}",
        record={"source": "marf", "marf": payload.marf},
        subjects=marf.subjects,
        base_facts=_marf_facts(marf, local_today(payload.received_at, council.calendar.zone)),
        consent_state=marf.consent.state,
        child_voice_present=not marf.child_voice_missing,
        wants_feedback=marf.referrer.wants_feedback,
        from_professional=marf.referrer.referral_source not in PUBLIC_SOURCES,
        agency_id=payload.agency_id,
        referral_id=payload.referral_id,
        referral_reference=payload.reference,
        written_follow_up_at=payload.submitted_at if payload.follow_up_to_phone_call else None,
    )


async def receive_referral(session: AsyncSession, payload: ReferralReceived) -> None:
    """One contact per referral (a replay finds it and stops), or the MARF joins its call."""
    if await repository.referral_contact(session, payload.referral_id) is not None:
        return
    settings = get_triage_settings()
    # The MARF was validated when referral_api accepted it; read it back as stored, so rules
    # relative to "today" (a baby born after the phone call, a MARF sent just after midnight
    # in summer, a child who has since turned 18) can never refuse an accepted referral.
    marf = Marf.model_validate(payload.marf, context=STORED)
    quoted = payload.phone_contact_reference
    phone = await repository.find_quoted(session, payload.council_id, quoted)
    tolerance = timedelta(minutes=settings.phone_join_tolerance_minutes)
    reasons = await phone_join.mismatches(session, phone, payload, marf, tolerance)
    if quoted and phone is not None and not reasons:
        await join_phone_contact(session, phone, payload, marf, settings)
        contact = phone
    else:
        council = await load_council(session, payload.council_id)
        contact = await open_contact(session, _from_marf(payload, marf, council), settings)
        if quoted:
            contact.follow_up_claim = phone_join.claim_for(quoted, reasons)
            contact.linked_phone_contact_id = phone.id if phone is not None else None
            await session.flush()
    await audit.record(
        session,
        service=SERVICE,
        actor=None,
        action="contact.intake",
        entity_type="contact",
        entity_id=contact.id,
        council_id=contact.council_id,
    )
    await emit_triaged(session, contact)


async def add_addendum(session: AsyncSession, payload: ReferralAddendumAdded) -> None:
    """Append the addendum to its referral's contact, once (keyed by the addendum id)."""
    found = await repository.referral_contact(session, payload.referral_id)
    if found is None:
        # The referral's own event has not been handled yet: fail, and the retry finds it.
        raise ContactNotFound()
    contact_id, council_id = found
    await repository.add_addendum(
        session,
        contact_id=contact_id,
        addendum_id=payload.addendum_id,
        added_at=payload.added_at,
        text=payload.text,
    )
    await audit.record(
        session,
        service=SERVICE,
        actor=None,
        action="contact.addendum",
        entity_type="contact",
        entity_id=contact_id,
        council_id=council_id,
    )
