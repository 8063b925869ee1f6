"""The DV lane: police and social worker screen notifications jointly; Operation Encompass.

Each screener's note is kept. The route (to MASH, early help or advice) moves the contact to
that lane; `encompass` asks the notifications service to tell the children's schools.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services import audit
from services.auth import Principal
from services.events.contracts import EncompassChild, EncompassRequested
from services.events.outbox import emit
from services.models.triage import TriageContact, TriageScreening
from triage.exceptions import WrongContactState
from triage.schemas.contacts import ScreeningCreate
from triage.service.work import contact_for

SERVICE = "triage"


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


async def _encompass_already_requested(session: AsyncSession, contact_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(TriageScreening.id)
        .where(TriageScreening.contact_id == contact_id, TriageScreening.encompass.is_(True))
        .limit(1)
    )
    return found is not None


async def screen(
    session: AsyncSession, *, principal: Principal, contact_id: uuid.UUID, body: ScreeningCreate
) -> TriageScreening:
    contact = await contact_for(session, principal, contact_id, lock=True)
    if contact.lane != "dv_screening" or contact.status != "open":
        raise WrongContactState("Only an open contact in the DV screening lane is screened.")
    if body.encompass and contact.kind != "dv_notification":
        raise WrongContactState("Operation Encompass follows a police DV notification.")
    screening = TriageScreening(
        id=uuid.uuid4(),
        contact_id=contact.id,
        screened_by=principal.sub,
        screener_role=principal.role.value,
        screened_at=datetime.now(UTC),
        route_to=body.route_to,
        encompass=body.encompass,
        rationale=body.rationale,
    )
    session.add(screening)
    if body.route_to != "none":
        contact.lane = body.route_to
    if body.encompass and not await _encompass_already_requested(session, contact.id):
        payload = encompass_request(contact, contact.council_id)
        await emit(session, "dv.encompass_requested", payload, producer=SERVICE)
    await session.flush()
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="contact.screening",
        entity_type="contact",
        entity_id=contact.id,
    )
    return screening
