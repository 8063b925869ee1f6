"""The contact page's RAG form: rate or review the contact's RAG, with its reason.

Calls `screening.rate` exactly as `POST /v1/contacts/{id}/rag` does (same rules, same
`contact.rag` audit row). A missing reason or rating is the error summary (422).
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
from triage.pages import contact_page_again, renamed, run_form
from triage.screening import service
from triage.screening.schemas import RagCreate

router = page_router()
MashStaff = Annotated[PageContext, Depends(page_user(*MASH_STAFF))]
# The form's inputs: `rag` and `rag_reason` (a contact page has several reasons).
NAMES = {"reason": "rag_reason"}
LABELS = {"rag": "RAG rating", "rag_reason": "Reason for the rating"}


@router.post("/contacts/{contact_id}/rag")
async def rate_contact(
    contact_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    ctx: MashStaff,
    settings: TriageSettingsDep,
) -> Response:
    form = await form_with_csrf(request, ctx)
    raw = {"rag": form.get("rag") or None, "reason": form.get("rag_reason", "").strip() or None}
    try:
        body = RagCreate.model_validate(raw)
    except ValidationError as exc:
        fields = validation_fields(exc)
    else:
        outcome = await run_form(
            session,
            request,
            lambda: service.rate(
                session,
                principal=ctx.principal,
                contact_id=contact_id,
                body=body,
                settings=settings,
            ),
            done=f"/contacts/{contact_id}?done=rated#rag-rating",
        )
        if isinstance(outcome, Response):
            return outcome
        fields = outcome
    errors = form_errors(renamed(fields, NAMES), LABELS)
    return await contact_page_again(
        session, ctx, contact_id, settings, errors=errors, form=form, status_code=422
    )
