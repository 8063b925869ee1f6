"""Who may see a contact's MASH work, the council's MASH configuration, and the audit call.

MASH staff (front-door social workers and team managers) see every contact of their
council in the MASH's lanes, exactly as the contact endpoints do. A `mash_partner` sees a
contact only while a check on it is addressed to its agency; any other contact is "not
found" (404), so a partner cannot learn that a contact exists. The referrer has no MASH role
at all: what partners record is never returned to them.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from typing import Annotated, TypeVar

from fastapi import Depends
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services import audit
from services.auth import Principal, Role, require_roles
from services.calendar_store import load_calendar
from services.errors import NotFound
from services.models.triage import TriageContact
from triage.contacts.access import lane_contact
from triage.contacts.exceptions import ContactNotFound
from triage.contacts.repository import get_contact, restricted_from
from triage.council import repository as council_repository
from triage.mash import repository
from triage.mash.config import MashConfig, mash_config_from

SERVICE = "triage"
MASH_STAFF = (Role.front_door_worker, Role.team_manager)
MASH_READERS = (*MASH_STAFF, Role.mash_partner)

MashStaffUser = Annotated[Principal, Depends(require_roles(*MASH_STAFF))]
MashReader = Annotated[Principal, Depends(require_roles(*MASH_READERS))]
PartnerUser = Annotated[Principal, Depends(require_roles(Role.mash_partner))]


T = TypeVar("T")


class RefusedAsNotFound(NotFound):
    """A record the caller may not see, refused after its audit row was written.

    The caller gets exactly the body a missing record gets (`shown`), and the request's
    transaction commits (the router turns this into a response instead of letting it
    propagate), so the refused attempt stays in the audit log.
    """

    def __init__(self, shown: NotFound) -> None:
        super().__init__(shown.message)
        self.shown = shown


async def keeping_refusals(call: Awaitable[T]) -> T | JSONResponse:
    """Await a service call; a refusal becomes a 404 response and the audit row commits."""
    try:
        return await call
    except RefusedAsNotFound as exc:
        body = exc.shown.body().model_dump(exclude_none=True)
        return JSONResponse(body, status_code=exc.shown.status_code)


async def refuse(
    session: AsyncSession,
    principal: Principal,
    entity_type: str,
    entity_id: object,
    shown: NotFound,
) -> RefusedAsNotFound:
    """Audit a refused read or write and return the error to raise."""
    await record(session, principal, f"{entity_type}.refused", entity_type, entity_id)
    return RefusedAsNotFound(shown)


async def load_mash_config(session: AsyncSession, council_id: str) -> MashConfig:
    calendar = await load_calendar(session, council_id)
    return mash_config_from(calendar, await council_repository.settings(session, council_id))


async def partner_on_contact(
    session: AsyncSession, principal: Principal, contact_id: uuid.UUID
) -> bool:
    return await repository.partner_has_check(
        session,
        council_id=principal.council_id,
        agency_id=principal.agency_id,
        contact_id=contact_id,
    )


async def mash_contact(
    session: AsyncSession, principal: Principal, contact_id: uuid.UUID, *, lock: bool = False
) -> TriageContact:
    """The contact if the caller may see its MASH work, else ContactNotFound (404).

    A contact about a restricted child is "not found" to anyone not named on the child.
    """
    if principal.role != Role.mash_partner:
        contact = await lane_contact(session, principal, contact_id, lock=lock)
    else:
        found = await get_contact(
            session, council_id=principal.council_id, contact_id=contact_id, lock=lock
        )
        if found is None or not await partner_on_contact(session, principal, contact_id):
            raise await refuse(session, principal, "contact", contact_id, ContactNotFound())
        contact = found
    if await restricted_from(session, principal, contact.id):
        raise await refuse(session, principal, "contact", contact.id, ContactNotFound())
    return contact


async def record(
    session: AsyncSession,
    principal: Principal | None,
    action: str,
    entity_type: str,
    entity_id: object,
    reason: str | None = None,
) -> None:
    """One audit row in the request's transaction (ids only, never a child's details)."""
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        reason=reason,
    )
