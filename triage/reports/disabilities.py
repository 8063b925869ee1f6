"""A child's CIN census disability codes, recorded per child on a contact (the census return
reads them: rule 8540)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.auth import Principal
from services.errors import FieldError
from triage.reports import repository
from triage.reports.child_records import audit_write, census_child
from triage.reports.exceptions import DisabilitiesInvalid
from triage.reports.schemas import ChildDisabilitiesRead, ChildDisabilitiesWrite


async def record(
    session: AsyncSession,
    *,
    principal: Principal,
    contact_id: uuid.UUID,
    body: ChildDisabilitiesWrite,
    now: datetime,
) -> ChildDisabilitiesRead:
    """Record (or replace) the codes of one born child on a contact the caller may see."""
    contact, kind = await census_child(
        session,
        principal,
        contact_id,
        body.child,
        invalid=DisabilitiesInvalid,
        what="Disability codes are",
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
    await audit_write(session, principal, "contact.child_disabilities", contact)
    return ChildDisabilitiesRead(
        contact_id=str(row.contact_id),
        child=row.child,
        disabilities=list(row.disabilities),
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
    )
