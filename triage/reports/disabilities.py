"""A child's CIN census disability codes, recorded per child on a contact (the census return
reads them: rule 8540)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services import audit
from services.auth import Principal
from services.errors import FieldError
from triage.contacts.access import contact_for
from triage.contacts.exceptions import WrongContactState
from triage.reports import census, repository
from triage.reports.exceptions import DisabilitiesInvalid
from triage.reports.schemas import ChildDisabilitiesRead, ChildDisabilitiesWrite

SERVICE = "triage"


async def record(
    session: AsyncSession,
    *,
    principal: Principal,
    contact_id: uuid.UUID,
    body: ChildDisabilitiesWrite,
    now: datetime,
) -> ChildDisabilitiesRead:
    """Record (or replace) the codes of one born child on a contact the caller may see."""
    contact = await contact_for(session, principal, contact_id, lock=True)
    if not census.recorded_for_the_census(contact.status, contact.contact_type):
        raise WrongContactState(
            "Census disability codes are recorded on a referral (or a contact still open)."
        )
    kind = await repository.subject_kind(session, contact.id, body.child)
    if kind is None:
        children = await repository.child_count(session, contact.id)
        raise DisabilitiesInvalid(
            fields=[FieldError(path="child", reason=f"the contact has {children} child(ren)")]
        )
    if kind == "unborn":
        # The census records disabilities for born children only (rule 8540).
        raise DisabilitiesInvalid(
            fields=[
                FieldError(path="child", reason="an unborn child has no census disability codes")
            ]
        )
    row = await repository.put_disabilities(
        session,
        contact_id=contact.id,
        child=body.child,
        disabilities=body.disabilities,
        by=principal.sub,
        at=now,
    )
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="contact.child_disabilities",
        entity_type="contact",
        entity_id=contact.id,
    )
    return ChildDisabilitiesRead(
        contact_id=str(row.contact_id),
        child=row.child,
        disabilities=list(row.disabilities),
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
    )
