"""Working a contact: claim (a lease), release, assign, decide, sign off, give feedback."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services import audit
from services.auth import Principal, Role
from services.errors import Forbidden
from services.events.contracts import ContactDecided, ContactFeedbackGiven
from services.events.outbox import emit
from services.models.triage import TriageContact, TriageDecision
from triage.clocks.repository import refresh_queue_keys
from triage.clocks.service import meet_clocks, start_clock
from triage.contacts import read, repository
from triage.contacts.access import contact_for as contact_for  # the pages call it from here
from triage.contacts.decision_rules import DecisionContext, child_lines, decision_errors
from triage.contacts.exceptions import (
    ContactLeased,
    DecisionInvalid,
    LeaseRequired,
    SelfSignOff,
    WrongContactState,
)
from triage.contacts.facts import SIGNIFICANT_HARM_CONCERNS, facts_from_subjects
from triage.contacts.opening import NewContact, local_today, open_contact
from triage.contacts.outcomes import OUTCOME_SUMMARY, STRATEGY_OUTCOMES
from triage.contacts.schemas import (
    ContactCreate,
    ContactRead,
    DecisionCreate,
    FeedbackCreate,
    LeaseRead,
    SignOffRequest,
)
from triage.council.config import CouncilConfig, load_council
from triage.queue.lanes import MANAGERS
from triage.settings import TriageSettings

SERVICE = "triage"
# "mash": the RAG timescale of the MASH (triage.screening), met by the decision too.
DECIDED_CLOCKS = ("decision", "completed_24h", "all_contacts_48h", "mash")


async def claim(
    session: AsyncSession, *, principal: Principal, contact_id: uuid.UUID, settings: TriageSettings
) -> TriageContact:
    """Take the lease: one atomic conditional update, so two workers cannot both win."""
    contact = await contact_for(session, principal, contact_id)
    if contact.status not in ("open", "awaiting_sign_off"):
        raise WrongContactState("Only an open contact can be claimed.")
    now = datetime.now(UTC)
    until = now + timedelta(minutes=settings.lease_minutes)
    if not await repository.take_lease(session, contact_id, principal.sub, now=now, until=until):
        raise ContactLeased()
    await session.refresh(contact)
    # Whoever holds the lease owns the work: a contact released by one worker and claimed by
    # another is allocated to the new holder (the queue's "assigned to" names who has it).
    if contact.assigned_to != principal.sub:
        await _allocate(session, contact, principal.sub, now)
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="contact.claim",
        entity_type="contact",
        entity_id=contact_id,
    )
    return contact


async def _allocate(session: AsyncSession, contact: TriageContact, who: str, at: datetime) -> None:
    contact.assigned_to = who
    await meet_clocks(session, contact_id=contact.id, kinds=("unallocated",), at=at)
    await session.flush()
    await refresh_queue_keys(session, [contact.id])


async def release(
    session: AsyncSession, *, principal: Principal, contact_id: uuid.UUID
) -> TriageContact:
    contact = await contact_for(session, principal, contact_id, lock=True)
    holds = contact.lease_holder == principal.sub
    if contact.lease_holder is not None and not holds and principal.role not in MANAGERS:
        raise ContactLeased()
    contact.lease_holder, contact.lease_expires_at = None, None
    await session.flush()
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="contact.release",
        entity_type="contact",
        entity_id=contact_id,
    )
    return contact


async def assign(
    session: AsyncSession, *, principal: Principal, contact_id: uuid.UUID, assignee: str
) -> TriageContact:
    contact = await contact_for(session, principal, contact_id, lock=True)
    await _allocate(session, contact, assignee, datetime.now(UTC))
    if contact.lease_holder not in (None, assignee):
        contact.lease_holder, contact.lease_expires_at = None, None
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="contact.assign",
        entity_type="contact",
        entity_id=contact_id,
    )
    return contact


def _holds_lease(contact: TriageContact, principal: Principal, now: datetime) -> bool:
    return (
        contact.lease_holder == principal.sub
        and contact.lease_expires_at is not None
        and contact.lease_expires_at > now
    )


async def _levels(session: AsyncSession, contact: TriageContact) -> list[int]:
    if contact.rule_set_id is None:
        return [1, 2, 3, 4]
    rule_set = await repository.rule_set_of(session, contact)
    return [lv["level"] for lv in rule_set.body["levels"]] if rule_set else [1, 2, 3, 4]


async def decide(
    session: AsyncSession,
    *,
    principal: Principal,
    contact_id: uuid.UUID,
    body: DecisionCreate,
    settings: TriageSettings,
) -> TriageDecision:
    contact = await contact_for(session, principal, contact_id, lock=True)
    now = datetime.now(UTC)
    if contact.status != "open":
        raise WrongContactState("The contact already has a decision awaiting or made.")
    if not _holds_lease(contact, principal, now):
        raise LeaseRequired()
    council = await load_council(session, contact.council_id)
    positions = [s["position"] for s in contact.subjects_summary or []]
    context = DecisionContext(
        levels=await _levels(session, contact),
        contact_consent=contact.consent_state,
        proposed_level=int(contact.evaluation.get("level", contact.level)),
        allowed=council.decisions_table,
        positions=positions,
    )
    errors = decision_errors(body, context)
    if errors:
        raise DecisionInvalid(fields=errors)
    decision = TriageDecision(
        id=uuid.uuid4(),
        contact_id=contact.id,
        made_by=principal.sub,
        made_at=now,
        rule_set_version=contact.rule_set_version,
        status="pending_sign_off",
        **body.model_dump(exclude={"children"}),
        children=child_lines(body, positions),
    )
    decision.strategy_discussion = body.strategy_discussion or body.outcome in STRATEGY_OUTCOMES
    await repository.add(session, decision)
    if body.consent_state:
        contact.consent_state = body.consent_state
    if body.outcome in council.outcomes_needing_sign_off:
        contact.status = "awaiting_sign_off"
    else:
        decision.status = "final"
        await _finalise(session, contact, decision, council, settings, now)
    await session.flush()
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="contact.decision",
        entity_type="contact",
        entity_id=contact_id,
    )
    return decision


async def _finalise(
    session: AsyncSession,
    contact: TriageContact,
    decision: TriageDecision,
    council: CouncilConfig,
    settings: TriageSettings,
    at: datetime,
) -> None:
    """The decision counts as made: clocks met, later clocks started, the referrer told."""
    contact.status, contact.decided_at = "decided", at
    contact.contact_type, contact.outcome = decision.contact_type, decision.outcome
    contact.level = decision.level
    contact.lease_holder, contact.lease_expires_at = None, None
    done = (
        DECIDED_CLOCKS if contact.contact_type == "referral" else (*DECIDED_CLOCKS, "unallocated")
    )
    await meet_clocks(session, contact_id=contact.id, kinds=done, at=at)
    for kind, start, amount in _later_clocks(contact, decision, council, at):
        await start_clock(
            session,
            contact_id=contact.id,
            kind=kind,
            start=start,
            calendar=council.calendar,
            settings=settings,
            amount=amount,
        )
    await session.flush()
    await refresh_queue_keys(session, [contact.id])
    await _emit_decided(session, contact, decision, at)


def _later_clocks(
    contact: TriageContact, decision: TriageDecision, council: CouncilConfig, at: datetime
) -> list[tuple[str, datetime, int | None]]:
    """Clocks a decision starts: feedback, the assessment (from the referral), the ICPC."""
    later: list[tuple[str, datetime, int | None]] = []
    if contact.wants_feedback:
        later.append(("feedback", at, council.feedback_working_days))
    if decision.outcome == "s17_assessment":
        later.append(("assessment", contact.received_at, None))
    if decision.strategy_discussion:
        later.append(("icpc", at, None))
    return later


async def _emit_decided(
    session: AsyncSession, contact: TriageContact, decision: TriageDecision, at: datetime
) -> None:
    summary, default_next = OUTCOME_SUMMARY[decision.outcome]
    payload = ContactDecided(
        contact_id=contact.id,
        referral_id=contact.referral_id,
        decided_at=at,
        contact_type=decision.contact_type,
        outcome=decision.outcome,
        outcome_summary=summary,
        next_steps=decision.next_steps or default_next,
        council_id=contact.council_id,
    )
    await emit(session, payload, producer=SERVICE)


async def sign_off(
    session: AsyncSession,
    *,
    principal: Principal,
    contact_id: uuid.UUID,
    body: SignOffRequest,
    settings: TriageSettings,
) -> TriageDecision:
    contact = await contact_for(session, principal, contact_id, lock=True)
    decision = await repository.pending_decision(session, contact.id)
    if contact.status != "awaiting_sign_off" or decision is None:
        raise WrongContactState("No decision is awaiting sign-off.")
    if decision.made_by == principal.sub:
        raise SelfSignOff()
    now = datetime.now(UTC)
    decision.signed_off_by, decision.signed_off_at, decision.sign_off_note = (
        principal.sub,
        now,
        body.note,
    )
    if body.action == "approve":
        decision.status = "approved"
        council = await load_council(session, contact.council_id)
        await _finalise(session, contact, decision, council, settings, now)
    else:
        decision.status, contact.status = "returned", "open"
    await session.flush()
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action=f"contact.sign_off.{body.action}",
        entity_type="contact",
        entity_id=contact_id,
    )
    return decision


async def give_feedback(
    session: AsyncSession, *, principal: Principal, contact_id: uuid.UUID, body: FeedbackCreate
) -> TriageContact:
    contact = await contact_for(session, principal, contact_id, lock=True)
    if contact.status != "decided":
        raise WrongContactState("Feedback follows the decision.")
    now = datetime.now(UTC)
    contact.feedback, contact.feedback_next_steps, contact.feedback_given_at = (
        body.feedback,
        body.next_steps,
        now,
    )
    await meet_clocks(session, contact_id=contact.id, kinds=("feedback",), at=now)
    await session.flush()
    payload = ContactFeedbackGiven(
        contact_id=contact.id,
        referral_id=contact.referral_id,
        given_at=now,
        feedback=body.feedback,
        next_steps=body.next_steps,
        council_id=contact.council_id,
    )
    await emit(session, payload, producer=SERVICE)
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="contact.feedback",
        entity_type="contact",
        entity_id=contact_id,
    )
    return contact


def _front_door_facts(body: ContactCreate, today: date) -> dict[str, object]:
    categories = sorted({c.category for c in body.concerns})
    consent = body.consent.state if body.consent else None
    return {
        **facts_from_subjects(body.subjects, today),
        "concern_categories": categories,
        "immediate_risk": body.immediate_risk,
        "emergency_services_called": body.emergency_services_called,
        "significant_harm_alleged": bool(SIGNIFICANT_HARM_CONCERNS & set(categories))
        or consent == "dispensed",
        "consent_state": consent,
        "request_type": None,
        "referral_source": body.referral_source,
        "contact_kind": body.kind,
        "channel": body.channel,
        "dv_risk_level": body.dv.dash_risk_level if body.dv else None,
        "referrer_view_of_level": None,
        "allegation_against_professional": body.allegation_against_professional,
        "child_voice_present": bool(body.child_voice) or any(s.child_voice for s in body.subjects),
    }


async def record_contact(
    session: AsyncSession, *, principal: Principal, body: ContactCreate, settings: TriageSettings
) -> TriageContact:
    """A contact recorded by the front door (phone, email, walk-in, police DV, advice line)."""
    if principal.role == Role.dv_screener and body.kind != "dv_notification":
        raise Forbidden("The DV screener records police DV notifications only.")
    council = await load_council(session, principal.council_id)
    received_at = (body.received_at or datetime.now(UTC)).astimezone(UTC)
    today = local_today(received_at, council.calendar.zone)
    new = NewContact(
        council=council,
        channel=body.channel,
        kind=body.kind,
        received_at=received_at,
        recorded_by=principal.sub,
        record={"source": "front_door", "contact": body.model_dump(mode="json")},
        subjects=body.subjects,
        base_facts=_front_door_facts(body, today),
        consent_state=body.consent.state if body.consent else None,
        child_voice_present=bool(body.child_voice) or any(s.child_voice for s in body.subjects),
        wants_feedback=body.referrer.wants_feedback and not body.referrer.anonymous,
        from_professional=body.from_professional,
        agency_id=body.dv.force_id if body.dv else body.agency_id,
    )
    contact = await open_contact(session, new, settings)
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="contact.create",
        entity_type="contact",
        entity_id=contact.id,
    )
    return contact


async def view(
    session: AsyncSession, *, principal: Principal, contact: TriageContact, settings: TriageSettings
) -> ContactRead:
    """The whole contact for the caller, its read audited in the request's transaction."""
    council = await load_council(session, contact.council_id)
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="contact.read",
        entity_type="contact",
        entity_id=contact.id,
    )
    return await read.contact_read(
        session, contact, zone=council.calendar.zone, months=settings.re_referral_months
    )


async def read_contact(
    session: AsyncSession, *, principal: Principal, contact_id: uuid.UUID, settings: TriageSettings
) -> ContactRead:
    """`GET /v1/contacts/{id}`: the contact if the caller may see it (else 404), audited."""
    contact = await contact_for(session, principal, contact_id)
    return await view(session, principal=principal, contact=contact, settings=settings)


def lease_read(contact: TriageContact) -> LeaseRead:
    return LeaseRead(
        contact_id=contact.id,
        lease_holder=contact.lease_holder,
        lease_expires_at=contact.lease_expires_at,
        assigned_to=contact.assigned_to,
    )
