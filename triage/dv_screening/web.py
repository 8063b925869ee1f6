"""The DV screener's form on the contact page: route the contact out of the DV lane.
Same service call and audit row as `POST /v1/contacts/{id}/screening`."""

from __future__ import annotations

import uuid

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError

from services.db import SessionDep
from services.web.pages import form_with_csrf, page_router, see_other
from triage.dependencies import TriageSettingsDep
from triage.dv_screening import service as screening
from triage.dv_screening.schemas import ScreeningCreate
from triage.pages import Screeners, invalid_form

router = page_router()


@router.post("/contacts/{contact_id}/screening")
async def screen_contact(
    contact_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    ctx: Screeners,
    settings: TriageSettingsDep,
) -> Response:
    form = await form_with_csrf(request, ctx)
    try:
        body = ScreeningCreate.model_validate(
            {
                "route_to": form.get("route_to") or None,
                "encompass": form.get("encompass") == "yes",
                "rationale": form.get("rationale", "").strip() or None,
            }
        )
    except ValidationError as exc:
        labels = {"route_to": "Route to", "rationale": "Rationale"}
        return await invalid_form(session, ctx, contact_id, settings, exc, form, labels)
    await screening.screen(session, principal=ctx.principal, contact_id=contact_id, body=body)
    # Routed out of the DV lane, the contact is no longer the screener's to see: back to the lane.
    return see_other("/queue?lane=dv_screening")
