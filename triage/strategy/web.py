"""The strategy discussion pages: record one (the form), and the summary to share.

The form calls `strategy.record_discussion` exactly as
`POST /v1/contacts/{id}/strategy-discussions` does; the summary page and its plain-text
rendering call `strategy.summary` as `GET .../{discussion_id}/summary(.txt)` do: what the
attendees already had (what was said and agreed), no partner check detail or case notes.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import ValidationError

from services.db import SessionDep
from services.errors import FieldError
from services.web.pages import (
    FormErrors,
    PageContext,
    form_errors,
    form_with_csrf,
    page_router,
    page_user,
    render,
    see_other,
    validation_fields,
)
from triage.dependencies import TriageSettingsDep
from triage.mash.access import MASH_STAFF, RefusedAsNotFound, load_mash_config, mash_contact
from triage.pages import TEMPLATES, date_from_parts, not_found_page, run_form
from triage.strategy import service
from triage.strategy.render import summary_text
from triage.strategy.schemas import ActionDone, DiscussionCreate
from triage.strategy.service import DECISION_LABELS

router = page_router()
MashStaff = Annotated[PageContext, Depends(page_user(*MASH_STAFF))]
# Rows of the form (blank rows are left out of the body).
PARTICIPANT_ROWS = 4
ACTION_ROWS = 3
LABELS = {
    "held_at": "When it was held",
    "formal": "Formal strategy discussion",
    "not_formal_reason": "Why it was not a formal strategy discussion",
    "participants": "Who took part",
    "information_shared": "Information shared",
    "decision": "Decision",
    "decision_reason": "Reason for the decision",
    "actions": "Actions",
}


def _held_at(form: dict[str, str], zone: ZoneInfo) -> str | None:
    """The date input and the 24-hour time, in the council's zone, as an ISO time."""
    day = date_from_parts(form, "held_at")
    time = form.get("held_at-time", "").strip()
    if day is None and not time:
        return None
    try:
        local = datetime.fromisoformat(f"{day}T{time or '00:00'}")
    except ValueError:
        return f"{day}T{time}"  # the API's validation names the field
    return local.replace(tzinfo=zone).isoformat()


def _rows(form: dict[str, str], prefix: str, count: int, names: tuple[str, ...]) -> list[Any]:
    rows = []
    for i in range(count):
        row: dict[str, Any] = {
            n: form.get(f"{prefix}-{i}-{n}", "").strip()
            for n in names
            if form.get(f"{prefix}-{i}-{n}", "").strip()
        }
        if prefix == "actions":
            due = date_from_parts(form, f"{prefix}-{i}-due_on")
            if due is not None:
                row["due_on"] = due
        if row:
            rows.append(row)
    return rows


def _body(form: dict[str, str], zone: ZoneInfo) -> dict[str, Any]:
    body: dict[str, Any] = {
        "held_at": _held_at(form, zone),
        "formal": {"yes": True, "no": False}.get(form.get("formal", "")),
        "participants": _rows(form, "participants", PARTICIPANT_ROWS, ("name", "role", "agency")),
        "information_shared": form.get("information_shared", "").strip() or None,
        "decision": form.get("decision") or None,
        "actions": _rows(form, "actions", ACTION_ROWS, ("description", "owner")),
    }
    for name in ("not_formal_reason", "decision_reason"):
        if form.get(name, "").strip():
            body[name] = form[name]
    return body


def _form_page(
    ctx: PageContext,
    contact_id: uuid.UUID,
    reference: str,
    *,
    errors: FormErrors | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        TEMPLATES,
        "strategy_form.html",
        ctx,
        current="/queue",
        title=f"Record a strategy discussion - {reference}",
        contact_id=contact_id,
        reference=reference,
        decisions=DECISION_LABELS,
        participant_rows=PARTICIPANT_ROWS,
        action_rows=ACTION_ROWS,
        errors=errors.summary if errors else None,
        field_errors=errors.by_field if errors else {},
        form=form or {},
        status_code=status_code,
    )


@router.get("/contacts/{contact_id}/strategy-discussions/new")
async def strategy_form(
    contact_id: uuid.UUID, request: Request, session: SessionDep, ctx: MashStaff
) -> Response:
    try:
        contact = await mash_contact(session, ctx.principal, contact_id)
    except RefusedAsNotFound as exc:
        return not_found_page(request, exc)
    return _form_page(ctx, contact.id, contact.reference)


@router.post("/contacts/{contact_id}/strategy-discussions")
async def record_discussion(
    contact_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    ctx: MashStaff,
    settings: TriageSettingsDep,
) -> Response:
    form = await form_with_csrf(request, ctx)
    try:
        contact = await mash_contact(session, ctx.principal, contact_id)
    except RefusedAsNotFound as exc:
        return not_found_page(request, exc)
    config = await load_mash_config(session, contact.council_id)
    fields: list[FieldError]
    try:
        body = DiscussionCreate.model_validate(_body(form, config.calendar.zone))
    except ValidationError as exc:
        fields = validation_fields(exc)
    else:
        outcome = await run_form(
            session,
            request,
            lambda: service.record_discussion(
                session,
                principal=ctx.principal,
                contact_id=contact_id,
                body=body,
                settings=settings,
            ),
            done=f"/contacts/{contact_id}?done=strategy#strategy",
        )
        if isinstance(outcome, Response):
            return outcome
        fields = outcome
    errors = form_errors(fields, LABELS)
    return _form_page(ctx, contact.id, contact.reference, errors=errors, form=form, status_code=422)


@router.post("/contacts/{contact_id}/strategy-discussions/{discussion_id}/actions/{action_id}/done")
async def action_done(
    contact_id: uuid.UUID,
    discussion_id: uuid.UUID,
    action_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    ctx: MashStaff,
) -> Response:
    """Mark an action done today (in the council's zone), as `POST .../actions/{id}/done`."""
    await form_with_csrf(request, ctx)
    try:
        contact = await mash_contact(session, ctx.principal, contact_id)
    except RefusedAsNotFound as exc:
        return not_found_page(request, exc)
    config = await load_mash_config(session, contact.council_id)
    today = datetime.now(UTC).astimezone(config.calendar.zone).date()
    await service.mark_done(
        session,
        principal=ctx.principal,
        contact_id=contact.id,
        discussion_id=discussion_id,
        action_id=action_id,
        body=ActionDone(done_on=today),
    )
    return see_other(f"/contacts/{contact_id}?done=action-done#strategy")


@router.get("/contacts/{contact_id}/strategy-discussions/{discussion_id}")
async def summary_page(
    contact_id: uuid.UUID,
    discussion_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    ctx: MashStaff,
) -> Response:
    """The summary to share with the attendees (and a link to its plain text)."""
    try:
        summary = await service.summary(
            session, principal=ctx.principal, contact_id=contact_id, discussion_id=discussion_id
        )
    except RefusedAsNotFound as exc:
        return not_found_page(request, exc)
    return render(
        TEMPLATES,
        "strategy_summary.html",
        ctx,
        current="/queue",
        title=f"{summary.title} - {summary.contact_reference}",
        summary=summary,
        contact_id=contact_id,
        discussion_id=discussion_id,
    )


@router.get("/contacts/{contact_id}/strategy-discussions/{discussion_id}/summary.txt")
async def summary_text_page(
    contact_id: uuid.UUID,
    discussion_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    ctx: MashStaff,
) -> Response:
    """The same summary as plain text, to paste into an email or print."""
    try:
        summary = await service.summary(
            session, principal=ctx.principal, contact_id=contact_id, discussion_id=discussion_id
        )
    except RefusedAsNotFound as exc:
        return not_found_page(request, exc)
    return PlainTextResponse(summary_text(summary))
