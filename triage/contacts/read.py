"""Reading contacts: the whole record for a worker, and queue items (each read audited)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from services.models.triage import (
    TriageAddendum,
    TriageClock,
    TriageContact,
    TriageDecision,
    TriageScreening,
    TriageSubject,
)
from triage.contacts import repository
from triage.contacts.facts import SubjectKeys
from triage.contacts.history import DAYS_PER_MONTH, find_history
from triage.contacts.schemas import (
    AddendumRead,
    ClockRead,
    ContactRead,
    DecisionRead,
    EvaluationRead,
    HistoryEntry,
    ScreeningRead,
)
from triage.queue.schemas import QueueItem, SubjectSummary


def queue_item(contact: TriageContact, breached_clocks: list[str] | None = None) -> QueueItem:
    """A queue item from a contact or a queue row (the same attribute names)."""
    return QueueItem(
        id=contact.id,
        reference=contact.reference,
        kind=contact.kind,
        channel=contact.channel,
        status=contact.status,
        lane=contact.lane,
        level=contact.level,
        rag=contact.rag,
        priority=contact.priority,
        safety_floor=contact.safety_floor,
        received_at=contact.received_at,
        deadline_at=contact.queue_deadline_at,
        breached=contact.breached,
        breached_clocks=breached_clocks or [],
        re_referral=contact.re_referral,
        assigned_to=contact.assigned_to,
        lease_holder=contact.lease_holder,
        lease_expires_at=contact.lease_expires_at,
        subjects=[SubjectSummary.model_validate(s) for s in contact.subjects_summary],
    )


def clock_read(
    clock: TriageClock, zone: ZoneInfo, recorded_by: dict[str, str] | None = None
) -> ClockRead:
    met_on_time = None if clock.met_at is None else clock.met_at <= clock.deadline_at
    return ClockRead(
        id=clock.id,
        kind=clock.kind,
        started_at=clock.started_at,
        deadline_at=clock.deadline_at,
        deadline_local=clock.deadline_at.astimezone(zone).isoformat(),
        due_soon_at=clock.due_soon_at,
        state=clock.state,
        paused_at=clock.paused_at,
        paused_reason=clock.paused_reason,
        resumed_at=clock.resumed_at,
        met_at=clock.met_at,
        met_on_time=met_on_time,
        met_recorded_by=(recorded_by or {}).get(clock.kind),
        breached_at=clock.breached_at,
    )


MET_ACTION = repository.MET_ACTION  # the audit action of a clock met by hand


async def history_for(
    session: AsyncSession, contact: TriageContact, months: int
) -> list[HistoryEntry]:
    subjects = await repository.rows_of(session, TriageSubject, contact.id, TriageSubject.position)
    keys = [
        SubjectKeys(
            s.position,
            s.kind,
            s.given_name_norm,
            s.family_name_norm,
            s.date_of_birth,
            s.nhs_number,
            s.upn,
            s.postcode,
        )
        for s in subjects
    ]
    matches = await find_history(
        session,
        council_id=contact.council_id,
        keys=keys,
        before=contact.received_at,
        exclude=contact.id,
    )
    since = contact.received_at - timedelta(days=months * DAYS_PER_MONTH)
    return [
        HistoryEntry(
            contact_id=m.contact.id,
            reference=m.contact.reference,
            received_at=m.contact.received_at,
            contact_type=m.contact.contact_type,
            outcome=m.contact.outcome,
            was_referral=m.was_referral,
            within_12_months=m.contact.received_at >= since,
            matched_on=sorted(m.matched_on),
        )
        for m in matches
    ]


async def contact_read(
    session: AsyncSession, contact: TriageContact, *, zone: ZoneInfo, months: int
) -> ContactRead:
    clocks = await repository.rows_of(session, TriageClock, contact.id, TriageClock.deadline_at)
    addenda = await repository.rows_of(session, TriageAddendum, contact.id, TriageAddendum.added_at)
    decisions = await repository.rows_of(
        session, TriageDecision, contact.id, TriageDecision.made_at
    )
    screenings = await repository.rows_of(
        session, TriageScreening, contact.id, TriageScreening.screened_at
    )
    breached = [c.kind for c in clocks if c.state == "breached"]
    met_by = (
        await repository.clock_met_by(session, contact.id) if any(c.met_at for c in clocks) else {}
    )
    return ContactRead(
        **queue_item(contact, breached).model_dump(),
        referral_id=contact.referral_id,
        referral_reference=contact.referral_reference,
        agency_id=contact.agency_id,
        from_professional=contact.from_professional,
        record=contact.record,
        facts=contact.facts,
        proposal=EvaluationRead.model_validate(contact.evaluation),
        consent_state=contact.consent_state,
        child_voice_present=contact.child_voice_present,
        previous_referrals_12m=contact.previous_referrals_12m,
        linked_phone_contact_id=contact.linked_phone_contact_id,
        follow_up_claim=contact.follow_up_claim,
        screening_state=contact.screening_state,
        written_follow_up_at=contact.written_follow_up_at,
        contact_type=contact.contact_type,
        outcome=contact.outcome,
        decided_at=contact.decided_at,
        feedback=contact.feedback,
        feedback_next_steps=contact.feedback_next_steps,
        feedback_given_at=contact.feedback_given_at,
        clocks=[clock_read(c, zone, met_by) for c in clocks],
        history=await history_for(session, contact, months),
        addenda=[AddendumRead.model_validate(a) for a in addenda],
        decisions=[DecisionRead.model_validate(d) for d in decisions],
        screenings=[ScreeningRead.model_validate(s) for s in screenings],
    )


def now_utc() -> datetime:
    return datetime.now(UTC)
