"""The DV lane: police and social worker screen notifications jointly; Operation Encompass.

Joint screening (the default): the police DV screener and a social worker each record their
view. When both have and they agree, the contact is routed (to MASH, early help or advice,
or left in the lane with `none`); when they disagree the disagreement is recorded and a team
manager resolves it, and that resolution routes it. A council may allow one screener's view
to route a standard-risk notification on its own (`dv_single_screening_standard_risk`).
Every view and resolution is kept. `encompass` asks the notifications service to tell the
children's schools (once, whoever asks first).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services import audit
from services.auth import Principal
from services.events.contracts import EncompassChild, EncompassRequested
from services.events.outbox import emit
from services.models.triage import TriageContact, TriageScreening
from triage.contacts.access import contact_for
from triage.contacts.exceptions import WrongContactState
from triage.council.config import load_council
from triage.dv_screening import repository
from triage.dv_screening.exceptions import ScreeningConflict
from triage.dv_screening.schemas import ScreeningCreate, ScreeningResolution

SERVICE = "triage"
POLICE, SOCIAL_WORK = "police", "social_work"


def _children(record: dict[str, Any]) -> list[EncompassChild]:
    subjects = record.get("contact", {}).get("subjects", [])
    return [
        EncompassChild(
            given_name=s["given_name"],
            family_name=s["family_name"],
            date_of_birth=s.get("date_of_birth"),
            school_urn=s.get("school_urn"),
            education_status=s.get("education_status"),
        )
        for s in subjects
        if s.get("kind") != "unborn" and s.get("given_name") and s.get("family_name")
    ]


def encompass_request(contact: TriageContact, council_id: str) -> EncompassRequested:
    dv = contact.record.get("contact", {}).get("dv") or {}
    return EncompassRequested(
        contact_id=contact.id,
        council_id=council_id,
        force_id=dv["force_id"],
        police_reference=dv["police_reference"],
        incident_at=dv["incident_at"],
        area=dv.get("area"),
        children=_children(contact.record),
        adult_roles=dv.get("adult_roles", []),
        circumstances=dv.get("circumstances"),
    )


def side_of(role: str) -> str:
    """Which half of the joint screening a screener's role is."""
    return POLICE if role == "dv_screener" else SOCIAL_WORK


def _check_screenable(contact: TriageContact, side: str, views: list[TriageScreening]) -> None:
    if contact.lane != "dv_screening" or contact.status != "open":
        raise WrongContactState("Only an open contact in the DV screening lane is screened.")
    if contact.screening_state == "routed":
        raise ScreeningConflict("The screening is complete: the contact has been routed.")
    if contact.screening_state == "disagreed":
        raise ScreeningConflict("The screeners disagree: a team manager resolves the route.")
    if any(side_of(v.screener_role) == side for v in views):
        raise ScreeningConflict(f"The {side.replace('_', ' ')} view is already recorded.")


async def screen(
    session: AsyncSession, *, principal: Principal, contact_id: uuid.UUID, body: ScreeningCreate
) -> TriageScreening:
    contact = await contact_for(session, principal, contact_id, lock=True)
    views = await repository.views(session, contact.id)
    side = side_of(principal.role.value)
    _check_screenable(contact, side, views)
    if body.encompass and contact.kind != "dv_notification":
        raise WrongContactState("Operation Encompass follows a police DV notification.")
    screening = _row(contact, principal, "view", body.route_to, body.rationale, body.encompass)
    repository.add(session, screening)
    if body.encompass and not await repository.encompass_already_requested(session, contact.id):
        payload = encompass_request(contact, contact.council_id)
        await emit(session, payload, producer=SERVICE)
    action = await _advance(session, contact, screening, views)
    await session.flush()
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="contact.screening",
        entity_type="contact",
        entity_id=contact.id,
    )
    if action:
        await audit.record(
            session,
            service=SERVICE,
            actor=principal,
            action=action,
            entity_type="contact",
            entity_id=contact.id,
        )
    return screening


async def _advance(
    session: AsyncSession,
    contact: TriageContact,
    screening: TriageScreening,
    earlier: list[TriageScreening],
) -> str | None:
    """Route, record a disagreement, or wait for the other half; the extra audit action."""
    side = side_of(screening.screener_role)
    other = next((v for v in earlier if side_of(v.screener_role) != side), None)
    if other is None and await _single_screening(session, contact):
        _route(contact, screening.route_to)
        return "contact.screening.routed"
    if other is None:
        contact.screening_state = "awaiting_joint"
        return None
    if other.route_to == screening.route_to:
        _route(contact, screening.route_to)
        return "contact.screening.routed"
    contact.screening_state = "disagreed"
    return "contact.screening.disagreed"


async def _single_screening(session: AsyncSession, contact: TriageContact) -> bool:
    council = await load_council(session, contact.council_id)
    risk = (contact.facts or {}).get("dv_risk_level")
    return council.dv_single_screening_standard_risk and risk == "standard"


def _route(contact: TriageContact, route_to: str) -> None:
    contact.screening_state = "routed"
    if route_to != "none":
        contact.lane = route_to


async def resolve(
    session: AsyncSession,
    *,
    principal: Principal,
    contact_id: uuid.UUID,
    body: ScreeningResolution,
) -> TriageScreening:
    """A team manager settles the screeners' disagreement; the resolution routes the contact."""
    contact = await contact_for(session, principal, contact_id, lock=True)
    if contact.lane != "dv_screening" or contact.screening_state != "disagreed":
        raise ScreeningConflict("Only a screening the screeners disagree on is resolved.")
    resolution = _row(contact, principal, "resolution", body.route_to, body.rationale, False)
    repository.add(session, resolution)
    _route(contact, body.route_to)
    await session.flush()
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="contact.screening.resolved",
        entity_type="contact",
        entity_id=contact.id,
    )
    return resolution


def _row(
    contact: TriageContact,
    principal: Principal,
    kind: str,
    route_to: str,
    rationale: str,
    encompass: bool,
) -> TriageScreening:
    return TriageScreening(
        id=uuid.uuid4(),
        contact_id=contact.id,
        kind=kind,
        screened_by=principal.sub,
        screener_role=principal.role.value,
        screened_at=datetime.now(UTC),
        route_to=route_to,
        encompass=encompass,
        rationale=rationale,
    )
