"""Rows for the management-information tests, written straight to the tables.

The figures are about times (decided within a day, delivered before school), so the tests set
the times themselves instead of waiting for clocks.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.auth import Principal, Role
from services.models.mash import MashRagRating
from services.models.notifications import Incident, Notification, School
from services.models.triage import TriageClock, TriageContact, TriageDecision, TriageSubject
from services.models.triage_reports import TriageAssessmentFactors

MANAGER = Principal(sub="manager-1", role=Role.team_manager, council_id="demo")
_seq = itertools.count(1)
CLOCK_LIMITS = {
    "decision": timedelta(hours=24),
    "completed_24h": timedelta(hours=24),
    "all_contacts_48h": timedelta(hours=48),
}


def child(
    *,
    nhs: str | None = None,
    upn: str | None = None,
    name: tuple[str, str] | None = None,
    born: date | None = date(2018, 5, 1),
    due: date | None = None,
    gender: str = "1",
    ethnicity: str | None = None,
) -> dict[str, Any]:
    kind = "unborn" if due is not None else "child"
    return {
        "kind": kind,
        "nhs": nhs,
        "upn": upn,
        "name": name,
        "born": born if kind == "child" else None,
        "due": due,
        "gender": gender,
        "ethnicity": ethnicity,
    }


async def add_contact(
    session: AsyncSession,
    *,
    received_at: datetime,
    contact_type: str | None = "referral",
    outcome: str | None = "early_help",
    lane: str = "mash",
    kind: str = "concern",
    on_time: dict[str, bool | str | None] | None = None,
    consent_state: str | None = None,
    consent_given_by: str | None = None,
    consent_reason: str | None = None,
    child_voice: bool = False,
    wants_feedback: bool = True,
    feedback: bool = False,
    nfa_reason: str | None = None,
    primary_need_code: str | None = "N1",
    children: list[dict[str, Any]] | None = None,
    referral_source: str | None = "2A",
    dv_risk: str | None = None,
    decision_status: str = "final",
    council_id: str = "demo",
) -> TriageContact:
    """A contact, decided unless `contact_type` is None; `on_time` per clock kind: met by its
    deadline (True), a minute after it (False), "unmet" (running, or breached once its deadline
    has passed), or None (no such clock)."""
    decided = contact_type is not None
    kids = children if children is not None else [child(nhs=f"99{next(_seq):08d}")]
    contact = TriageContact(
        id=uuid.uuid4(),
        council_id=council_id,
        reference=f"FDC-T-{next(_seq):06d}",
        channel="phone",
        kind=kind,
        received_at=received_at,
        recorded_by="worker-1",
        status="decided" if decided else "open",
        record={"source": "front_door", "contact": {"subjects": [_subject_json(k) for k in kids]}},
        facts={"referral_source": referral_source, "dv_risk_level": dv_risk},
        evaluation={},
        subjects_summary=[],
        lane=lane,
        level=2,
        rag="amber",
        priority=5,
        queue_deadline_at=received_at + timedelta(hours=24),
        child_voice_present=child_voice,
        wants_feedback=wants_feedback,
        feedback_given_at=received_at + timedelta(hours=5) if feedback else None,
        contact_type=contact_type,
        outcome=outcome if decided else None,
        decided_at=received_at + timedelta(hours=2) if decided else None,
    )
    session.add(contact)
    await session.flush()
    for pos, k in enumerate(kids):
        session.add(_subject_row(contact, pos, k))
    clocks = on_time if on_time is not None else dict.fromkeys(CLOCK_LIMITS, True)
    for kind_, met in clocks.items():
        if met is not None:
            session.add(_clock(contact, kind_, met))
    if decided:
        session.add(
            TriageDecision(
                id=uuid.uuid4(),
                contact_id=contact.id,
                made_by="worker-1",
                made_at=received_at + timedelta(hours=2),
                contact_type=contact_type,
                outcome=outcome,
                nfa_reason=nfa_reason,
                level=2,
                primary_need_code=primary_need_code,
                rationale="Recorded.",
                consent_state=consent_state,
                consent_reason=consent_reason,
                consent_given_by=consent_given_by,
                status=decision_status,
            )
        )
    await session.flush()
    return contact


def _subject_json(k: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": k["kind"], "gender": k["gender"]}
    if k["born"] is not None:
        out["date_of_birth"] = k["born"].isoformat()
    if k["due"] is not None:
        out["expected_due_date"] = k["due"].isoformat()
    if k.get("ethnicity") is not None:
        out["ethnicity"] = k["ethnicity"]
    return out


def _subject_row(contact: TriageContact, position: int, k: dict[str, Any]) -> TriageSubject:
    given, family = k["name"] or (None, None)
    return TriageSubject(
        id=uuid.uuid4(),
        contact_id=contact.id,
        council_id=contact.council_id,
        position=position,
        kind=k["kind"],
        given_name_norm=given,
        family_name_norm=family,
        date_of_birth=k["born"],
        nhs_number=k["nhs"],
        upn=k["upn"],
        received_at=contact.received_at,
    )


def _clock(contact: TriageContact, kind: str, on_time: bool | str) -> TriageClock:
    limit = CLOCK_LIMITS.get(kind, timedelta(hours=24))
    deadline = contact.received_at + limit
    if on_time == "unmet":
        return TriageClock(
            id=uuid.uuid4(),
            contact_id=contact.id,
            kind=kind,
            started_at=contact.received_at,
            deadline_at=deadline,
            due_soon_at=deadline - timedelta(hours=2),
            state="running",
        )
    met = deadline - timedelta(minutes=1) if on_time else deadline + timedelta(minutes=1)
    return TriageClock(
        id=uuid.uuid4(),
        contact_id=contact.id,
        kind=kind,
        started_at=contact.received_at,
        deadline_at=deadline,
        due_soon_at=deadline - timedelta(hours=2),
        state="met" if on_time else "breached",
        met_at=met,
        breached_at=None if on_time else deadline,
    )


async def add_assessment(
    session: AsyncSession,
    contact: TriageContact,
    *,
    authorised_at: datetime | None,
    factors: list[str] | None = None,
) -> None:
    start = contact.received_at
    session.add(
        TriageClock(
            id=uuid.uuid4(),
            contact_id=contact.id,
            kind="assessment",
            started_at=start,
            deadline_at=start + timedelta(days=63),
            due_soon_at=start + timedelta(days=60),
            state="met" if authorised_at else "running",
            met_at=authorised_at,
        )
    )
    if factors is not None:
        session.add(
            TriageAssessmentFactors(
                contact_id=contact.id,
                factors=factors,
                recorded_by="worker-1",
                recorded_at=datetime.now(UTC),
            )
        )
    await session.flush()


async def add_encompass(
    session: AsyncSession,
    *,
    created_at: datetime,
    route: str = "school",
    delivered_before: bool | None = True,
    acknowledged: bool = False,
    welfare_check: bool = False,
    council_id: str = "demo",
) -> Notification:
    urn = "107301"
    if await session.get(School, urn) is None:
        session.add(School(urn=urn, council_id=council_id, name="Test Primary"))
        await session.flush()
    incident = Incident(
        id=uuid.uuid4(),
        council_id=council_id,
        force_id="west-yorkshire-police",
        police_reference=f"WYP-{uuid.uuid4().hex[:8]}",
        incident_at=created_at - timedelta(hours=6),
        source="batch",
    )
    session.add(incident)
    await session.flush()
    deadline = created_at + timedelta(hours=3)
    delivered = None
    if delivered_before is not None:
        delivered = (
            deadline - timedelta(hours=1) if delivered_before else deadline + timedelta(hours=1)
        )
    note = Notification(
        id=uuid.uuid4(),
        incident_id=incident.id,
        child_key=uuid.uuid4().hex,
        school_urn=urn if route == "school" else None,
        route=route,
        given_name="X",
        family_name="Y",
        deadline_at=deadline if route == "school" else None,
        delivered_at=delivered,
        acknowledged_at=deadline if acknowledged else None,
        welfare_check_at=deadline + timedelta(hours=2) if welfare_check else None,
        created_at=created_at,
    )
    session.add(note)
    await session.flush()
    return note


async def add_mash_screening(
    session: AsyncSession,
    contact: TriageContact,
    *,
    rags: list[str],
    met: bool | None,
    breached: bool = False,
) -> None:
    """The contact's screening ratings in order (the last counts) and its MASH clock, due 4 h
    after receipt: met a minute before (True) or after (False) it, or not met (None), still
    running or, with `breached`, breached."""
    start = contact.received_at
    deadline = start + timedelta(hours=4)
    previous = None
    for n, rag in enumerate(rags):
        session.add(
            MashRagRating(
                id=uuid.uuid4(),
                contact_id=contact.id,
                rag=rag,
                previous_rag=previous,
                reason="Screened.",
                set_by="worker-1",
                set_at=start + timedelta(minutes=10 + n),
                due_at=deadline,
            )
        )
        previous = rag
    met_at = None if met is None else deadline + timedelta(minutes=1 if not met else -1)
    late = met is False or breached
    session.add(
        TriageClock(
            id=uuid.uuid4(),
            contact_id=contact.id,
            kind="mash",
            started_at=start,
            deadline_at=deadline,
            due_soon_at=deadline - timedelta(hours=1),
            state="met" if met is not None else ("breached" if breached else "running"),
            met_at=met_at,
            breached_at=deadline if late else None,
        )
    )
    contact.rag = rags[-1]
    await session.flush()
