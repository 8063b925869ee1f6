"""The contact page's case note form: add a note, or a correction of an earlier one.

Calls `notes.add_note` exactly as `POST /v1/contacts/{id}/notes` does. Notes are
append-only: a correction is a new note naming the note it corrects, which stays as written.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError

from services.db import SessionDep
from services.web.pages import (
    PageContext,
    form_errors,
    form_with_csrf,
    page_router,
    page_user,
    validation_fields,
)
from triage.dependencies import TriageSettingsDep
from triage.mash.access import MASH_STAFF
from triage.notes import service
from triage.notes.schemas import NoteCreate
from triage.pages import contact_page_again, renamed, run_form

router = page_router()
MashStaff = Annotated[PageContext, Depends(page_user(*MASH_STAFF))]
NAMES = {"text": "note_text", "corrects_id": "note_corrects_id"}
LABELS = {"note_text": "Case note", "note_corrects_id": "Corrects"}


@router.post("/contacts/{contact_id}/notes")
async def add_note(
    contact_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    ctx: MashStaff,
    settings: TriageSettingsDep,
) -> Response:
    form = await form_with_csrf(request, ctx)
    raw = {
        "text": form.get("note_text", "").strip() or None,
        "corrects_id": form.get("note_corrects_id") or None,
    }
    try:
        body = NoteCreate.model_validate(raw)
    except ValidationError as exc:
        fields = validation_fields(exc)
    else:
        outcome = await run_form(
            session,
            request,
            lambda: service.add_note(
                session, principal=ctx.principal, contact_id=contact_id, body=body
            ),
            done=f"/contacts/{contact_id}?done=noted#notes",
        )
        if isinstance(outcome, Response):
            return outcome
        fields = outcome
    errors = form_errors(renamed(fields, NAMES), LABELS)
    return await contact_page_again(
        session, ctx, contact_id, settings, errors=errors, form=form, status_code=422
    )
