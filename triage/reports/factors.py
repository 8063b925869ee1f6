"""The factors identified at the end of an assessment (for the CIN census return)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services import audit
from services.auth import Principal
from services.errors import FieldError
from triage.contacts.access import contact_for
from triage.contacts.exceptions import WrongContactState
from triage.reports import repository
from triage.reports.exceptions import FactorsInvalid
from triage.reports.schemas import AssessmentFactorsRead, AssessmentFactorsWrite

SERVICE = "triage"


async def record(
    session: AsyncSession,
    *,
    principal: Principal,
    contact_id: uuid.UUID,
    body: AssessmentFactorsWrite,
    now: datetime,
) -> AssessmentFactorsRead:
    """Factors belong to a referral decided for an assessment (its clock started)."""
    contact = await contact_for(session, principal, contact_id, lock=True)
    has_assessment = await repository.has_assessment_clock(session, contact.id)
    if contact.contact_type != "referral" or not has_assessment:
        raise WrongContactState("Factors are recorded for a referral that went to assessment.")
    children = await repository.child_count(session, contact.id)
    if body.child is not None and body.child > children:
        raise FactorsInvalid(
            fields=[FieldError(path="child", reason=f"the contact has {children} child(ren)")]
        )
    row = await repository.put_factors(
        session,
        contact_id=contact.id,
        child=body.child or 0,
        factors=body.factors,
        by=principal.sub,
        at=now,
    )
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="contact.assessment_factors",
        entity_type="contact",
        entity_id=contact.id,
    )
    return AssessmentFactorsRead(
        contact_id=str(row.contact_id),
        child=row.child or None,
        factors=list(row.factors),
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
    )
