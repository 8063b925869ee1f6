"""The closure of a child's CIN episode, recorded per child on the contact (the referral) that
opened it: the census return reads it (CINclosureDate, ReasonForClosure; rules 8815, 8820)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.auth import Principal
from services.errors import FieldError
from triage.council.config import load_council
from triage.reports import repository
from triage.reports.child_records import audit_write, census_child
from triage.reports.exceptions import ClosureInvalid
from triage.reports.schemas import ChildClosureRead, ChildClosureWrite


async def record(
    session: AsyncSession,
    *,
    principal: Principal,
    contact_id: uuid.UUID,
    body: ChildClosureWrite,
    now: datetime,
) -> ChildClosureRead:
    """Record (or replace) the closure of one child's episode on a contact the caller may
    see. Unborn children's episodes close too: the census holds their episodes as any
    child's."""
    contact, _kind = await census_child(
        session, principal, contact_id, body.child, invalid=ClosureInvalid, what="A closure is"
    )
    zone = (await load_council(session, principal.council_id)).calendar.zone
    referred_on = contact.received_at.astimezone(zone).date()
    today = now.astimezone(zone).date()
    if body.closed_on < referred_on:
        reason = f"the closure is before the referral date ({referred_on.isoformat()})"
        raise ClosureInvalid(fields=[FieldError(path="closed_on", reason=reason)])
    if body.closed_on > today:
        reason = f"the closure is in the future (today is {today.isoformat()})"
        raise ClosureInvalid(fields=[FieldError(path="closed_on", reason=reason)])
    row = await repository.put_closure(
        session,
        contact_id=contact.id,
        child=body.child,
        closed_on=body.closed_on,
        reason=body.reason,
        by=principal.sub,
        at=now,
    )
    await audit_write(session, principal, "contact.child_closure", contact)
    return ChildClosureRead(
        contact_id=str(row.contact_id),
        child=row.child,
        closed_on=row.closed_on,
        reason=row.reason,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
    )
