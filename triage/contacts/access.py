"""Who may see a contact: their council, one of their lanes, and not a restricted child's.

Every contact endpoint loads its contact through `contact_for`, so a contact the caller may
not see answers 404 exactly as a missing one.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.auth import Principal
from services.models.triage import TriageContact
from triage.contacts.exceptions import ContactNotFound
from triage.contacts.repository import get_contact, restricted_from
from triage.queue.lanes import lanes_for


async def lane_contact(
    session: AsyncSession, principal: Principal, contact_id: uuid.UUID, *, lock: bool = False
) -> TriageContact:
    """The contact if it is in the caller's council and one of their lanes, else 404
    (before the restricted-child rule: `contact_for` and the MASH loader apply it)."""
    contact = await get_contact(
        session, council_id=principal.council_id, contact_id=contact_id, lock=lock
    )
    if contact is None or contact.lane not in lanes_for(principal.role):
        raise ContactNotFound()
    return contact


async def contact_for(
    session: AsyncSession, principal: Principal, contact_id: uuid.UUID, *, lock: bool = False
) -> TriageContact:
    """The contact if the caller may see it (their council, one of their lanes, and not about
    a child restricted to named people the caller is not one of), else 404.

    A restricted contact answers exactly as a missing one (ContactNotFound); the error
    handler audits the refusal ("access.refused", with the contact's id) in a transaction
    of its own, since the request's is rolled back with the error.
    """
    contact = await lane_contact(session, principal, contact_id, lock=lock)
    if await restricted_from(session, principal, contact.id):
        raise ContactNotFound()
    return contact
