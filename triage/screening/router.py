"""RAG screening endpoints: rate or review a contact's RAG, read its history."""

from __future__ import annotations

from fastapi import APIRouter

from services.db import SessionDep
from services.errors import Conflict, Forbidden, NotFound, Unprocessable, error_responses
from triage.dependencies import ContactPath, TriageSettingsDep
from triage.mash.access import MashStaffUser
from triage.screening import service
from triage.screening.schemas import RagCreate, RagHistory, RagRead

router = APIRouter(prefix="/v1", tags=["mash"])


@router.post(
    "/contacts/{contact_id}/rag",
    status_code=201,
    response_model=RagRead,
    responses=error_responses(NotFound, Conflict, Unprocessable, Forbidden),
)
async def rate_contact_rag(
    contact_id: ContactPath,
    body: RagCreate,
    session: SessionDep,
    principal: MashStaffUser,
    settings: TriageSettingsDep,
) -> RagRead:
    """Rate the contact red, amber or green (or review the rating) with a reason."""
    rating = await service.rate(
        session, principal=principal, contact_id=contact_id, body=body, settings=settings
    )
    return RagRead.model_validate(rating)


@router.get(
    "/contacts/{contact_id}/rag",
    response_model=RagHistory,
    responses=error_responses(NotFound, Forbidden),
)
async def read_contact_rag(
    contact_id: ContactPath, session: SessionDep, principal: MashStaffUser
) -> RagHistory:
    """The contact's RAG rating, its MASH deadline and every change with its reason."""
    return await service.history(session, principal=principal, contact_id=contact_id)
