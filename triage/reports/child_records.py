"""What a child's census details (disability codes, an episode's closure) share when they are
recorded: the contact the caller may see, in a state the census reads, the child on it, and
the audit row of the write."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services import audit
from services.auth import Principal
from services.errors import FieldError, Unprocessable
from services.models.triage import TriageContact
from triage.contacts.access import contact_for
from triage.contacts.exceptions import WrongContactState
from triage.reports import census, repository

SERVICE = "triage"


async def census_child(
    session: AsyncSession,
    principal: Principal,
    contact_id: uuid.UUID,
    child: int,
    *,
    invalid: type[Unprocessable],
    what: str,
) -> tuple[TriageContact, str]:
    """The contact (locked) and the kind of its `child`-th subject: 404 for a contact the
    caller may not see, 409 for one the census does not read, `invalid` (422 on `child`) for
    a child the contact does not have."""
    contact = await contact_for(session, principal, contact_id, lock=True)
    if not census.recorded_for_the_census(contact.status, contact.contact_type):
        raise WrongContactState(f"{what} recorded on a referral or a contact still open.")
    kind = await repository.subject_kind(session, contact.id, child)
    if kind is None:
        children = await repository.child_count(session, contact.id)
        raise invalid(
            fields=[FieldError(path="child", reason=f"the contact has {children} child(ren)")]
        )
    return contact, kind


async def audit_write(
    session: AsyncSession, principal: Principal, action: str, contact: TriageContact
) -> None:
    """The write's audit row: the contact's id, none of the details."""
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action=action,
        entity_type="contact",
        entity_id=contact.id,
    )
