"""Opening a contact: facts, rule evaluation, re-referral check, clocks, queue keys."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.marf import Subject
from services.models.triage import TriageContact, TriageRuleSet, TriageSubject
from triage.children.linking import link_children, with_child_flags
from triage.clocks.repository import refresh_queue_keys
from triage.clocks.service import start_clock
from triage.contacts import repository
from triage.contacts.facts import SubjectKeys, subject_keys, subject_summary
from triage.contacts.history import find_history, referrals_within
from triage.council.config import CouncilConfig
from triage.rules.facts import Facts
from triage.rulesets import service as rulesets
from triage.settings import TriageSettings

# Placeholder until the first clock sets the real nearest deadline.
FAR_FUTURE = timedelta(days=3650)
OPENING_CLOCKS = ("decision", "completed_24h", "all_contacts_48h", "unallocated")


@dataclass
class NewContact:
    council: CouncilConfig
    channel: str
    kind: str
    received_at: datetime
    recorded_by: str
    record: dict[str, Any]
    subjects: list[Subject]
    base_facts: dict[str, Any]
    consent_state: str | None
    child_voice_present: bool
    wants_feedback: bool = True
    from_professional: bool = False
    agency_id: str | None = None
    referral_id: uuid.UUID | None = None
    referral_reference: str | None = None
    written_follow_up_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


async def next_reference(session: AsyncSession, received_at: datetime, tz: ZoneInfo) -> str:
    number = await repository.next_reference_number(session)
    return f"FDC-{received_at.astimezone(tz).year}-{number:06d}"


def local_today(at: datetime, tz: ZoneInfo) -> date:
    return at.astimezone(tz).date()


async def assess(
    session: AsyncSession,
    *,
    council: CouncilConfig,
    settings: TriageSettings,
    subjects: list[Subject],
    base_facts: dict[str, Any],
    received_at: datetime,
    exclude: uuid.UUID | None,
) -> tuple[dict[str, Any], dict[str, Any], list[SubjectKeys], TriageRuleSet]:
    """Facts, evaluation, match keys and the rule set for a contact's current information."""
    keys = [subject_keys(s, i) for i, s in enumerate(subjects)]
    history = await find_history(
        session, council_id=council.council_id, keys=keys, before=received_at, exclude=exclude
    )
    previous = referrals_within(history, received_at, settings.re_referral_months)
    facts = Facts.model_validate(
        {
            **base_facts,
            "previous_referrals_12m": previous,
            "in_office_hours": council.calendar.in_office_hours(received_at),
        }
    ).model_dump(mode="json")
    rule_set = await rulesets.require_active(session, council.council_id)
    evaluation = rulesets.evaluate(rule_set, facts).as_json()
    return facts, evaluation, keys, rule_set


def apply_evaluation(
    contact: TriageContact, evaluation: dict[str, Any], rule_set: TriageRuleSet
) -> None:
    contact.evaluation = evaluation
    contact.rule_set_id, contact.rule_set_version = rule_set.id, rule_set.version
    contact.lane, contact.level = evaluation["lane"], evaluation["level"]
    contact.rag, contact.priority = evaluation["rag"], evaluation["priority"]
    contact.safety_floor = evaluation["safety_floor"]


async def replace_subjects(
    session: AsyncSession,
    contact: TriageContact,
    subjects: list[Subject],
    keys: list[SubjectKeys],
    zone: ZoneInfo,
) -> None:
    today = local_today(contact.received_at, zone)
    contact.subjects_summary = [subject_summary(s, i, today) for i, s in enumerate(subjects)]
    rows = [
        TriageSubject(
            id=uuid.uuid4(),
            contact_id=contact.id,
            council_id=contact.council_id,
            position=k.position,
            kind=k.kind,
            given_name_norm=k.given_name_norm,
            family_name_norm=k.family_name_norm,
            date_of_birth=k.date_of_birth,
            nhs_number=k.nhs_number,
            upn=k.upn,
            postcode=k.postcode,
            received_at=contact.received_at,
        )
        for k in keys
    ]
    await repository.replace_subjects(session, contact.id, rows)


def _row(new: NewContact, reference: str, facts: dict[str, Any]) -> TriageContact:
    return TriageContact(
        id=uuid.uuid4(),
        council_id=new.council.council_id,
        reference=reference,
        channel=new.channel,
        kind=new.kind,
        from_professional=new.from_professional,
        referral_id=new.referral_id,
        referral_reference=new.referral_reference,
        agency_id=new.agency_id,
        received_at=new.received_at,
        recorded_by=new.recorded_by,
        status="open",
        record=new.record,
        facts=facts,
        queue_deadline_at=new.received_at + FAR_FUTURE,
        breached=False,
        consent_state=new.consent_state,
        child_voice_present=new.child_voice_present,
        wants_feedback=new.wants_feedback,
        previous_referrals_12m=facts["previous_referrals_12m"],
        re_referral=facts["previous_referrals_12m"] > 0,
        written_follow_up_at=new.written_follow_up_at,
        subjects_summary=[],
    )


def opening_clocks(new: NewContact) -> list[str]:
    """Every contact's clocks, plus the written follow-up of a professional's phone call."""
    kinds = list(OPENING_CLOCKS)
    if new.channel == "phone" and new.from_professional and new.written_follow_up_at is None:
        kinds.insert(0, "written_follow_up")
    return kinds


async def open_contact(
    session: AsyncSession, new: NewContact, settings: TriageSettings
) -> TriageContact:
    """A new contact in the queue: evaluated, matched against history, clocks running."""
    # The children's recorded flags (CSE, missing, looked after...) count as facts too.
    base_facts = await with_child_flags(
        session, new.council.council_id, new.subjects, new.base_facts
    )
    facts, evaluation, keys, rule_set = await assess(
        session,
        council=new.council,
        settings=settings,
        subjects=new.subjects,
        base_facts=base_facts,
        received_at=new.received_at,
        exclude=None,
    )
    reference = await next_reference(session, new.received_at, new.council.calendar.zone)
    contact = _row(new, reference, facts)
    apply_evaluation(contact, evaluation, rule_set)
    await repository.add_contact(session, contact)
    await replace_subjects(session, contact, new.subjects, keys, new.council.calendar.zone)
    await link_children(session, contact, new.subjects)
    for kind in opening_clocks(new):
        await start_clock(
            session,
            contact_id=contact.id,
            kind=kind,
            start=new.received_at,
            calendar=new.council.calendar,
            settings=settings,
        )
    await session.flush()
    await refresh_queue_keys(session, [contact.id])
    return contact
