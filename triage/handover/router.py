"""Handover endpoints: the case system's read of the full record; the delivery state."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from services.auth import Principal, Role, require_roles
from services.db import SessionDep
from services.errors import Forbidden, NotFound, error_responses
from triage.dependencies import ContactPath, HandoverPath
from triage.handover import service
from triage.handover.schemas import HandoverRead, HandoverRecord
from triage.mash.access import MashStaffUser

router = APIRouter(prefix="/v1", tags=["mash"])
CaseSystem = Annotated[Principal, Depends(require_roles(Role.case_system))]


@router.get(
    "/handovers/{handover_id}",
    response_model=HandoverRecord,
    responses=error_responses(NotFound, Forbidden),
)
async def read_handover_record(
    handover_id: HandoverPath, session: SessionDep, principal: CaseSystem
) -> HandoverRecord:
    """The full record behind a handover event, for the council's case system (audited)."""
    return await service.full_record(session, principal=principal, handover_id=handover_id)


@router.get(
    "/contacts/{contact_id}/handovers",
    response_model=list[HandoverRead],
    responses=error_responses(NotFound, Forbidden),
)
async def list_contact_handovers(
    contact_id: ContactPath, session: SessionDep, principal: MashStaffUser
) -> list[HandoverRead]:
    """The contact's handovers with every delivery attempt."""
    return await service.contact_handovers(session, principal=principal, contact_id=contact_id)
