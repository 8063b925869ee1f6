"""The contact's pages: the contact, and the forms that work it (claim, release, allocate,
the decision, the manager's sign-off and the feedback to the referrer).

Each form calls the same service function as the matching endpoint of `triage.contacts.router`
and writes the same audit rows; the page itself is assembled in `triage.pages`.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError

from services.db import SessionDep
from services.errors import AppError, Unprocessable
from services.web.pages import (
    FormErrors,
    form_errors,
    form_with_csrf,
    page_router,
    see_other,
    unprocessable_fields,
    validation_fields,
)
from triage.contacts import service as work
from triage.contacts.schemas import DecisionCreate, FeedbackCreate, SignOffRequest
from triage.dependencies import TriageSettingsDep
from triage.pages import (
    BANNERS,
    Deciders,
    Managers,
    SignOff,
    Staff,
    contact_page,
    contact_page_again,
    contact_read,
    invalid_form,
)

router = page_router()
T = TypeVar("T")

DECISION_LABELS = {
    "contact_type": "Contact type",
    "outcome": "Outcome",
    "nfa_reason": "Reason for no further action",
    "level": "Continuum level",
    "primary_need_code": "Primary need",
    "rationale": "Rationale",
    "consent_state": "Consent",
    "consent_reason": "Reason to proceed without consent",
    "next_steps": "Next steps",
}


@router.get("/contacts/{contact_id}")
async def contact_page_view(
    contact_id: uuid.UUID,
    session: SessionDep,
    ctx: Staff,
    settings: TriageSettingsDep,
    done: str | None = None,
) -> Response:
    """The contact: the MARF, the rules' proposal and why, history, clocks, decisions, and
    (for MASH staff) RAG, partner checks, strategy discussions, notes and the chronology."""
    return await contact_page_again(
        session, ctx, contact_id, settings, banner=BANNERS.get(done or "")
    )


async def _attempt(
    session: SessionDep, action: Callable[[], Awaitable[T]]
) -> tuple[T | None, AppError | None]:
    """Run a service call in a savepoint: on a domain error, nothing it wrote is kept."""
    try:
        async with session.begin_nested():
            return await action(), None
    except Unprocessable as exc:
        return None, exc


@router.post("/contacts/{contact_id}/claim")
async def claim_contact(
    contact_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    ctx: Staff,
    settings: TriageSettingsDep,
) -> Response:
    await form_with_csrf(request, ctx)
    await work.claim(session, principal=ctx.principal, contact_id=contact_id, settings=settings)
    return see_other(f"/contacts/{contact_id}?done=claimed")


@router.post("/contacts/{contact_id}/release")
async def release_contact(
    contact_id: uuid.UUID, request: Request, session: SessionDep, ctx: Staff
) -> Response:
    await form_with_csrf(request, ctx)
    await work.release(session, principal=ctx.principal, contact_id=contact_id)
    return see_other(f"/contacts/{contact_id}?done=released")


@router.post("/contacts/{contact_id}/assign")
async def assign_contact(
    contact_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    ctx: Managers,
    settings: TriageSettingsDep,
) -> Response:
    form = await form_with_csrf(request, ctx)
    assignee = form.get("assignee", "").strip()
    if not assignee or len(assignee) > 200:
        errors = FormErrors(
            [{"text": "Enter who to allocate the contact to", "href": "#assignee"}],
            {"assignee": "Enter who to allocate the contact to"},
        )
        return await contact_page_again(
            session, ctx, contact_id, settings, errors=errors, form=form, status_code=422
        )
    await work.assign(session, principal=ctx.principal, contact_id=contact_id, assignee=assignee)
    return see_other(f"/contacts/{contact_id}?done=assigned")


def _decision_body(form: dict[str, str]) -> dict[str, Any]:
    """The form's fields as the API's JSON body (empty inputs are absent, boxes are booleans)."""
    body: dict[str, Any] = {k: v for k, v in form.items() if k in DECISION_LABELS and v.strip()}
    body["strategy_discussion"] = form.get("strategy_discussion") == "yes"
    return body


@router.get("/contacts/{contact_id}/decision")
async def decision_form(
    contact_id: uuid.UUID, session: SessionDep, ctx: Deciders, settings: TriageSettingsDep
) -> Response:
    """The decision form (the contact must be held by the worker to record it)."""
    contact = await contact_read(session, ctx, contact_id, settings)
    form = {"level": str(contact.proposal.level), "contact_type": contact.proposal.contact_type}
    return contact_page(ctx, contact, template="decision.html", form=form)


@router.post("/contacts/{contact_id}/decision")
async def record_decision(
    contact_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    ctx: Deciders,
    settings: TriageSettingsDep,
) -> Response:
    """Record the decision: a 422 of the API is the error summary here, the form kept."""
    form = await form_with_csrf(request, ctx)
    try:
        body = DecisionCreate.model_validate(_decision_body(form))
    except ValidationError as exc:
        fields = validation_fields(exc)
    else:
        _, error = await _attempt(
            session,
            lambda: work.decide(
                session,
                principal=ctx.principal,
                contact_id=contact_id,
                body=body,
                settings=settings,
            ),
        )
        if error is None:
            return see_other(f"/contacts/{contact_id}?done=decided")
        fields = unprocessable_fields(error)  # type: ignore[arg-type]
    contact = await contact_read(session, ctx, contact_id, settings)
    errors = form_errors(fields, DECISION_LABELS)
    return contact_page(
        ctx, contact, template="decision.html", errors=errors, form=form, status_code=422
    )


@router.post("/contacts/{contact_id}/sign-off")
async def sign_off_decision(
    contact_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    ctx: SignOff,
    settings: TriageSettingsDep,
) -> Response:
    form = await form_with_csrf(request, ctx)
    try:
        body = SignOffRequest.model_validate(
            {k: v for k, v in form.items() if k in ("action", "note") and v.strip()}
        )
    except ValidationError as exc:
        labels = {"action": "Sign-off", "note": "Note", "body": "Note"}
        return await invalid_form(session, ctx, contact_id, settings, exc, form, labels)
    await work.sign_off(
        session, principal=ctx.principal, contact_id=contact_id, body=body, settings=settings
    )
    done = "signed-off" if body.action == "approve" else "returned"
    return see_other(f"/contacts/{contact_id}?done={done}")


@router.post("/contacts/{contact_id}/feedback")
async def give_feedback(
    contact_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    ctx: Deciders,
    settings: TriageSettingsDep,
) -> Response:
    form = await form_with_csrf(request, ctx)
    try:
        body = FeedbackCreate.model_validate(
            {k: v for k, v in form.items() if k in ("feedback", "next_steps") and v.strip()}
        )
    except ValidationError as exc:
        labels = {"feedback": "Feedback", "next_steps": "What happens next"}
        return await invalid_form(session, ctx, contact_id, settings, exc, form, labels)
    await work.give_feedback(session, principal=ctx.principal, contact_id=contact_id, body=body)
    return see_other(f"/contacts/{contact_id}?done=feedback")
