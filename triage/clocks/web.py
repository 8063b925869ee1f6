"""The managers' clock forms on the contact page: pause (with a reason) and resume.
The same audited service calls as `POST /v1/contacts/{id}/clocks/{kind}/pause` and `/resume`."""

from __future__ import annotations

import uuid

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError

from services.db import SessionDep
from services.web.pages import form_with_csrf, page_router, see_other
from triage.clocks import service as clock_service
from triage.clocks.schemas import ClockPause
from triage.dependencies import TriageSettingsDep
from triage.pages import Managers, invalid_form

router = page_router()


@router.post("/contacts/{contact_id}/clocks/{kind}/pause")
async def pause_clock(
    contact_id: uuid.UUID,
    kind: str,
    request: Request,
    session: SessionDep,
    ctx: Managers,
    settings: TriageSettingsDep,
) -> Response:
    form = await form_with_csrf(request, ctx)
    try:
        body = ClockPause.model_validate({"reason": form.get("reason", "").strip() or None})
    except ValidationError as exc:
        labels = {"reason": "Reason for pausing"}
        return await invalid_form(session, ctx, contact_id, settings, exc, form, labels)
    await clock_service.pause(
        session, principal=ctx.principal, contact_id=contact_id, kind=kind, reason=body.reason
    )
    return see_other(f"/contacts/{contact_id}?done=paused")


@router.post("/contacts/{contact_id}/clocks/{kind}/resume")
async def resume_clock(
    contact_id: uuid.UUID, kind: str, request: Request, session: SessionDep, ctx: Managers
) -> Response:
    await form_with_csrf(request, ctx)
    await clock_service.resume(session, principal=ctx.principal, contact_id=contact_id, kind=kind)
    return see_other(f"/contacts/{contact_id}?done=resumed")
