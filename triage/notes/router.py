"""Case note endpoints: add (append-only) and list."""

from __future__ import annotations

from fastapi import APIRouter

from services.db import SessionDep
from services.errors import Forbidden, NotFound, Unprocessable, error_responses
from triage.dependencies import ContactPath
from triage.mash.access import MashStaffUser
from triage.notes import service
from triage.notes.schemas import NoteCreate, NoteRead

router = APIRouter(prefix="/v1/contacts/{contact_id}/notes", tags=["mash"])


@router.post(
    "",
    status_code=201,
    response_model=NoteRead,
    responses=error_responses(NotFound, Unprocessable, Forbidden),
)
async def add_case_note(
    contact_id: ContactPath, body: NoteCreate, session: SessionDep, principal: MashStaffUser
) -> NoteRead:
    """Add a case note (a correction names the note it corrects; notes never change)."""
    return await service.add_note(session, principal=principal, contact_id=contact_id, body=body)


@router.get("", response_model=list[NoteRead], responses=error_responses(NotFound, Forbidden))
async def list_case_notes(
    contact_id: ContactPath, session: SessionDep, principal: MashStaffUser
) -> list[NoteRead]:
    """The contact's notes, oldest first, each with the notes that correct it."""
    return await service.list_notes(session, principal=principal, contact_id=contact_id)
