"""The chronology of a contact and the MASH overview."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from services.db import SessionDep
from services.errors import Forbidden, NotFound, error_responses
from triage.chronology import service
from triage.chronology.schemas import Chronology, MashOverview
from triage.dependencies import ContactPath
from triage.mash.access import MashStaffUser, keeping_refusals

router = APIRouter(prefix="/v1/contacts/{contact_id}", tags=["mash"])


@router.get(
    "/chronology", response_model=Chronology, responses=error_responses(NotFound, Forbidden)
)
async def contact_chronology(
    contact_id: ContactPath, session: SessionDep, principal: MashStaffUser
) -> Chronology | JSONResponse:
    """Everything that happened on the contact, in time order, each step once."""
    return await keeping_refusals(
        service.contact_chronology(session, principal=principal, contact_id=contact_id)
    )


@router.get("/mash", response_model=MashOverview, responses=error_responses(NotFound, Forbidden))
async def contact_mash_overview(
    contact_id: ContactPath, session: SessionDep, principal: MashStaffUser
) -> MashOverview | JSONResponse:
    """The MASH's view: RAG, MASH deadline, ICPC due, checks, overdue checks and actions."""
    return await keeping_refusals(
        service.overview(session, principal=principal, contact_id=contact_id)
    )
