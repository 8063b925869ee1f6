"""The partner check pages: the MASH requests checks from a contact's page; a MASH partner
sees the checks asked of their agency and answers one.

Each calls the same service function as its endpoint (`POST /v1/contacts/{id}/checks`,
`GET /v1/checks`, `GET /v1/checks/{id}`, `POST /v1/checks/{id}/response`): the same rules,
the same audit rows. A partner opening another agency's check gets the "not found" page,
and the refused attempt is audited (`partner_check.refused`), as the API does.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError

from services.auth import Role
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
    validation_fields,
)
from triage.checks import service
from triage.checks.schemas import CheckRead, CheckResponse, ChecksRequest
from triage.dependencies import TriageSettingsDep
from triage.mash.access import MASH_STAFF, RefusedAsNotFound
from triage.pages import TEMPLATES, contact_page_again, date_from_parts, not_found_page, run_form

router = page_router()
MashStaff = Annotated[PageContext, Depends(page_user(*MASH_STAFF))]
Partner = Annotated[PageContext, Depends(page_user(Role.mash_partner))]

REQUEST_LABELS = {"agencies": "Agencies to ask"}
ANSWER_LABELS = {
    "outcome": "What your agency holds",
    "summary": "Summary",
    "risk_indicators": "Risk indicators",
    "latest_involvement_on": "Date of the latest involvement",
    "researched_by": "Researched by",
    "declined_reason": "Reason for declining",
}
# The form's one choice (the brief's four answers) as the API's outcome and `known`.
OUTCOMES: dict[str, tuple[str, bool | None]] = {
    "known": ("answered", True),
    "not_known": ("answered", False),
    "nothing_held": ("nothing_held", None),
    "declined": ("declined", None),
}
OUTCOME_TEXT = {
    "known": "Known to us",
    "not_known": "Not known to us",
    "nothing_held": "Nothing held",
    "declined": "Declined",
}
PARTNER_HOME = "/partner/checks"


@router.post("/contacts/{contact_id}/checks")
async def request_checks(
    contact_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    ctx: MashStaff,
    settings: TriageSettingsDep,
) -> Response:
    """Ask the ticked agencies what they hold (each due by the contact's RAG)."""
    await form_with_csrf(request, ctx)
    raw = await request.form()  # read once by the CSRF check; the boxes are a list
    agencies = [str(v) for v in raw.getlist("agencies") if isinstance(v, str) and v]
    form = {"agencies": ",".join(agencies)}
    fields: list[FieldError]
    try:
        body = ChecksRequest.model_validate({"agencies": agencies})
    except ValidationError as exc:
        fields = validation_fields(exc)
        if not agencies:
            fields = [FieldError(path="agencies", reason="choose at least one agency")]
    else:
        outcome = await run_form(
            session,
            request,
            lambda: service.request_checks(
                session, principal=ctx.principal, contact_id=contact_id, body=body
            ),
            done=f"/contacts/{contact_id}?done=checks-requested#checks",
        )
        if isinstance(outcome, Response):
            return outcome
        fields = outcome
    # `agencies.0` and the like all belong to the one group of boxes.
    errors = form_errors(fields, REQUEST_LABELS)
    return await contact_page_again(
        session, ctx, contact_id, settings, errors=errors, form=form, status_code=422
    )


@router.get("/partner/checks")
async def agency_checks_page(
    session: SessionDep, ctx: Partner, show: str | None = None
) -> Response:
    """The checks asked of my agency: open ones soonest due first (overdue tagged), or all."""
    everything = show == "all"
    statuses: list[Any] = (
        ["requested", "answered", "declined", "nothing_held"] if everything else ["requested"]
    )
    checks = await service.agency_checks(session, principal=ctx.principal, statuses=statuses)
    return render(
        TEMPLATES,
        "partner_checks.html",
        ctx,
        current=PARTNER_HOME,
        title="Checks for my agency",
        checks=checks,
        everything=everything,
        now=datetime.now(UTC),
    )


def _check_page(
    ctx: PageContext,
    check: CheckRead,
    *,
    errors: FormErrors | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
    banner: str | None = None,
) -> Response:
    return render(
        TEMPLATES,
        "partner_check.html",
        ctx,
        current=PARTNER_HOME,
        title="Answer a partner check" if check.status == "requested" else "Partner check",
        check=check,
        outcome_text=OUTCOME_TEXT,
        errors=errors.summary if errors else None,
        field_errors=errors.by_field if errors else {},
        form=form or {},
        banner=banner,
        status_code=status_code,
    )


@router.get("/partner/checks/{check_id}")
async def check_page(
    check_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    ctx: Partner,
    done: str | None = None,
) -> Response:
    """One check of my agency: the form to answer it, or the answer given."""
    try:
        check = await service.get_check(session, principal=ctx.principal, check_id=check_id)
    except RefusedAsNotFound as exc:
        return not_found_page(request, exc)
    banner = "Your answer is recorded: the MASH can see it." if done == "answered" else None
    return _check_page(ctx, check, banner=banner)


def _response_body(form: dict[str, str]) -> dict[str, Any]:
    """The form as the API's body (empty inputs absent; risk indicators one a line)."""
    outcome, known = OUTCOMES.get(form.get("outcome", ""), (form.get("outcome") or None, None))
    body: dict[str, Any] = {"outcome": outcome}
    if known is not None:
        body["known"] = known
    for name in ("summary", "researched_by", "declined_reason"):
        if form.get(name, "").strip():
            body[name] = form[name]
    indicators = [line.strip() for line in form.get("risk_indicators", "").splitlines()]
    if any(indicators):
        body["risk_indicators"] = [i for i in indicators if i]
    latest = date_from_parts(form, "latest_involvement_on")
    if latest is not None:
        body["latest_involvement_on"] = latest
    return body


class _Incomplete(Exception):
    """The form lacks the one choice every answer needs."""


def _answer_fields(fields: list[FieldError]) -> list[FieldError]:
    # `known` is part of the one outcome choice on this form; a bad date part is the date.
    out = []
    for f in fields:
        head = f.path.split(".")[0]
        path = "outcome" if head == "known" else head
        out.append(FieldError(path=path, reason=f.reason))
    return out


@router.post("/partner/checks/{check_id}")
async def answer_check(
    check_id: uuid.UUID, request: Request, session: SessionDep, ctx: Partner
) -> Response:
    """Record what my agency holds, that it holds nothing, or why it declines."""
    form = await form_with_csrf(request, ctx)
    try:
        if form.get("outcome") not in OUTCOMES:
            fields = [FieldError(path="outcome", reason="choose what your agency holds")]
            raise _Incomplete()
        body = CheckResponse.model_validate(_response_body(form))
    except ValidationError as exc:
        fields = validation_fields(exc)
    except _Incomplete:
        pass
    else:
        outcome = await run_form(
            session,
            request,
            lambda: service.respond(session, principal=ctx.principal, check_id=check_id, body=body),
            done=f"/partner/checks/{check_id}?done=answered",
        )
        if isinstance(outcome, Response):
            return outcome
        fields = outcome
    try:
        check = await service.get_check(session, principal=ctx.principal, check_id=check_id)
    except RefusedAsNotFound as exc:
        return not_found_page(request, exc)
    errors = form_errors(_answer_fields(fields), ANSWER_LABELS)
    return _check_page(ctx, check, errors=errors, form=form, status_code=422)
