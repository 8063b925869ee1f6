"""The DV lane's joint screening and a manager's resolution (HTTP only)."""

from __future__ import annotations

from fastapi import APIRouter

from services.db import SessionDep
from services.errors import Conflict, Forbidden, NotFound, error_responses
from triage.contacts.schemas import ScreeningRead
from triage.dependencies import ContactPath, ScreenerUser, SignOffUser
from triage.dv_screening import service as screening
from triage.dv_screening.schemas import ScreeningCreate, ScreeningResolution

router = APIRouter(prefix="/v1", tags=["contacts"])


@router.post(
    "/contacts/{contact_id}/screening",
    status_code=201,
    response_model=ScreeningRead,
    responses=error_responses(NotFound, Conflict, Forbidden),
)
async def screen_dv_contact(
    contact_id: ContactPath, body: ScreeningCreate, session: SessionDep, principal: ScreenerUser
) -> ScreeningRead:
    """Joint DV screening: route the notification, and optionally to Operation Encompass."""
    result = await screening.screen(session, principal=principal, contact_id=contact_id, body=body)
    return ScreeningRead.model_validate(result)


@router.post(
    "/contacts/{contact_id}/screening/resolution",
    status_code=201,
    response_model=ScreeningRead,
    responses=error_responses(NotFound, Conflict, Forbidden),
)
async def resolve_dv_screening(
    contact_id: ContactPath, body: ScreeningResolution, session: SessionDep, principal: SignOffUser
) -> ScreeningRead:
    """A team manager routes a DV notification the two screeners disagree on."""
    result = await screening.resolve(session, principal=principal, contact_id=contact_id, body=body)
    return ScreeningRead.model_validate(result)
