"""The triage pages: the queue, a contact, and the forms that work it.

Every page calls the same service functions as the matching endpoint of the feature routers,
and writes the same audit rows, so a rule or a refusal is the same whichever door a person
uses. A form that fails validation is shown again with the GOV.UK error summary (422);
whatever the failed attempt wrote is undone with its savepoint.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from services import audit
from services.auth import Role
from services.db import SessionDep
from services.errors import AppError, Unprocessable
from services.web.pages import (
    FormErrors,
    PageContext,
    form_errors,
    form_with_csrf,
    page_router,
    page_user,
    render,
    see_other,
    templates,
    unprocessable_fields,
    validation_fields,
)
from triage import wording
from triage.clocks import service as clock_service
from triage.clocks.schemas import ClockPause
from triage.contacts import read
from triage.contacts import service as work
from triage.contacts.schemas import (
    ContactRead,
    DecisionCreate,
    FeedbackCreate,
    SignOffRequest,
)
from triage.council.config import load_council
from triage.dependencies import TriageSettingsDep
from triage.dv_screening import service as screening
from triage.dv_screening.schemas import ScreeningCreate
from triage.queue.lanes import MANAGERS, STAFF, lanes_for
from triage.queue.service import QueueFilters, decode_cursor, queue_page
from triage.rules.model import LANES
from triage.settings import TriageSettings
from triage.strategy.service import DECISION_LABELS as STRATEGY_DECISIONS
from triage.web_mash import MashSections, chronology_title, mash_sections
from triage.wording import LANE_NAMES, OUTCOME_NAMES, time_left

SERVICE = "triage"
TEMPLATES = templates(Path(__file__).resolve().parent / "templates")
TEMPLATES.globals.update(
    lane_names=LANE_NAMES,
    outcome_names=OUTCOME_NAMES,
    time_left=time_left,
    queue_rows=wording.queue_rows,
    chronology_title=chronology_title,
    strategy_decisions=STRATEGY_DECISIONS,
)
# A page refreshes its queue this often (the issue: a new contact shows within 5 seconds).
QUEUE_REFRESH_SECONDS = 3

router = page_router()
Staff = Annotated[PageContext, Depends(page_user(*STAFF))]
Managers = Annotated[PageContext, Depends(page_user(*MANAGERS))]
Deciders = Annotated[PageContext, Depends(page_user(Role.front_door_worker, Role.team_manager))]
SignOff = Annotated[PageContext, Depends(page_user(Role.team_manager))]
Screeners = Annotated[PageContext, Depends(page_user(Role.dv_screener, Role.front_door_worker))]
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


def _filters(ctx: PageContext, params: dict[str, str]) -> tuple[QueueFilters, dict[str, str]]:
    """The queue's filters from the query string; unknown or malformed values are ignored."""
    lane = params.get("lane") if params.get("lane") in LANES else None
    level = params.get("level", "")
    status = params.get("status") if params.get("status") in ("open", "awaiting_sign_off") else None
    breached = {"yes": True, "no": False}.get(params.get("breached", ""))
    mine = params.get("mine") == "yes"
    chosen = {
        "lane": lane or "",
        "level": level if level.isdigit() else "",
        "status": status or "",
        "breached": params.get("breached", "") if breached is not None else "",
        "mine": "yes" if mine else "",
    }
    filters = QueueFilters(
        lanes=lanes_for(ctx.principal.role),
        lane=lane,
        level=int(level) if level.isdigit() and 1 <= int(level) <= 10 else None,
        status=status,
        assigned_to=ctx.principal.sub if mine else None,
        breached=breached,
    )
    return filters, {k: v for k, v in chosen.items() if v}


async def _queue_items(
    session: SessionDep,
    ctx: PageContext,
    settings: TriageSettings,
    filters: QueueFilters,
    cursor: str | None = None,
) -> tuple[list[Any], str | None]:
    """A page of the queue, the API's default size, and the cursor of the next (audited)."""
    if cursor:
        try:
            decode_cursor(cursor)
        except Unprocessable:
            cursor = None  # a mangled link shows the first page
    await audit.record(
        session,
        service=SERVICE,
        actor=ctx.principal,
        action="queue.read",
        entity_type="queue",
        entity_id=ctx.principal.council_id,
    )
    page = await queue_page(
        session,
        ctx.principal.council_id,
        filters,
        sub=ctx.principal.sub,
        limit=settings.queue_page_default,
        cursor=cursor,
    )
    return page.items, page.next_cursor


def _page_query(chosen: dict[str, str], cursor: str | None) -> str:
    """The query string of this page of the queue (what its refresh asks for again)."""
    return urlencode({**chosen, "cursor": cursor} if cursor else chosen)


@router.get("/queue")
async def queue_page_view(
    request: Request, session: SessionDep, ctx: Staff, settings: TriageSettingsDep
) -> Response:
    """The queue: lanes as sub-navigation, filters, most urgent first, refreshing itself."""
    params = dict(request.query_params)
    filters, chosen = _filters(ctx, params)
    items, next_cursor = await _queue_items(session, ctx, settings, filters, params.get("cursor"))
    lanes = [lane for lane in LANES if lane in lanes_for(ctx.principal.role)]
    current = "/queue?lane=dv_screening" if ctx.principal.role == Role.dv_screener else "/queue"
    return render(
        TEMPLATES,
        "queue.html",
        ctx,
        current=current,
        title="Queue",
        items=items,
        lanes=lanes,
        chosen=chosen,
        query=_page_query(chosen, params.get("cursor")),
        next_query=urlencode({**chosen, "cursor": next_cursor}) if next_cursor else None,
        first_query=urlencode(chosen) if params.get("cursor") else None,
        lane_query=lambda lane: urlencode(
            {**chosen, "lane": lane} if lane else {k: v for k, v in chosen.items() if k != "lane"}
        ),
        now=datetime.now(UTC),
        refresh_seconds=QUEUE_REFRESH_SECONDS,
    )


@router.get("/queue/rows")
async def queue_rows(
    request: Request, session: SessionDep, ctx: Staff, settings: TriageSettingsDep
) -> Response:
    """The queue table's body alone: what the page's htmx swaps in every few seconds."""
    params = dict(request.query_params)
    filters, chosen = _filters(ctx, params)
    items, _ = await _queue_items(session, ctx, settings, filters, params.get("cursor"))
    html = TEMPLATES.get_template("queue_rows.html").render(
        items=items,
        query=_page_query(chosen, params.get("cursor")),
        now=datetime.now(UTC),
        refresh_seconds=QUEUE_REFRESH_SECONDS,
    )
    return HTMLResponse(html)


@router.get("/sign-offs")
async def sign_offs_page(
    session: SessionDep, ctx: SignOff, settings: TriageSettingsDep
) -> Response:
    """Decisions awaiting the manager's sign-off."""
    filters = QueueFilters(lanes=lanes_for(ctx.principal.role), status="awaiting_sign_off")
    items, _ = await _queue_items(session, ctx, settings, filters)
    return render(
        TEMPLATES,
        "sign_offs.html",
        ctx,
        current="/sign-offs",
        title="Awaiting sign-off",
        items=items,
        now=datetime.now(UTC),
    )


async def _contact_read(
    session: SessionDep, ctx: PageContext, contact_id: uuid.UUID, settings: TriageSettings
) -> ContactRead:
    """The whole contact, read and audited exactly as GET /v1/contacts/{id}."""
    contact = await work.contact_for(session, ctx.principal, contact_id)
    council = await load_council(session, contact.council_id)
    await audit.record(
        session,
        service=SERVICE,
        actor=ctx.principal,
        action="contact.read",
        entity_type="contact",
        entity_id=contact.id,
    )
    return await read.contact_read(
        session, contact, zone=council.calendar.zone, months=settings.re_referral_months
    )


def _contact_page(
    ctx: PageContext,
    contact: ContactRead,
    *,
    banner: str | None = None,
    errors: FormErrors | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
    template: str = "contact.html",
    mash: MashSections | None = None,
) -> Response:
    now = datetime.now(UTC)
    holds = contact.lease_holder == ctx.principal.sub and (
        contact.lease_expires_at is not None and contact.lease_expires_at > now
    )
    return render(
        TEMPLATES,
        template,
        ctx,
        current="/queue",
        title=f"Contact {contact.reference}",
        contact=contact,
        holds=holds,
        now=now,
        banner=banner,
        errors=errors.summary if errors else None,
        field_errors=errors.by_field if errors else {},
        form=form or {},
        pending=next((d for d in contact.decisions if d.status == "pending_sign_off"), None),
        is_manager=ctx.principal.role in MANAGERS,
        can_decide=ctx.principal.role in (Role.front_door_worker, Role.team_manager),
        can_screen=ctx.principal.role in (Role.dv_screener, Role.front_door_worker)
        and contact.lane == "dv_screening",
        mash=mash,
        status_code=status_code,
    )


async def contact_page_again(
    session: SessionDep,
    ctx: PageContext,
    contact_id: uuid.UUID,
    settings: TriageSettings,
    *,
    errors: FormErrors | None = None,
    form: dict[str, str] | None = None,
    banner: str | None = None,
    status_code: int = 200,
) -> Response:
    """The whole contact page (with its MASH sections), e.g. again with a form's errors."""
    contact = await _contact_read(session, ctx, contact_id, settings)
    mash = await mash_sections(session, ctx.principal, contact.id)
    return _contact_page(
        ctx,
        contact,
        banner=banner,
        errors=errors,
        form=form,
        status_code=status_code,
        mash=mash,
    )


BANNERS = {
    "claimed": "You hold this contact: no one else can work it until you release it.",
    "released": "The contact is back in the queue.",
    "decided": "Decision recorded.",
    "signed-off": "Decision signed off.",
    "returned": "Decision returned to the worker.",
    "feedback": "Feedback given to the referrer.",
    "assigned": "Contact allocated.",
    "paused": "Clock paused.",
    "resumed": "Clock resumed.",
    "screened": "Screening recorded.",
    "rated": "RAG rating recorded.",
    "checks-requested": "Partner checks requested.",
    "noted": "Case note added.",
    "strategy": "Strategy discussion recorded.",
    "action-done": "Action marked done.",
}


@router.get("/contacts/{contact_id}")
async def contact_page(
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
    contact = await _contact_read(session, ctx, contact_id, settings)
    form = {"level": str(contact.proposal.level), "contact_type": contact.proposal.contact_type}
    return _contact_page(ctx, contact, template="decision.html", form=form)


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
    contact = await _contact_read(session, ctx, contact_id, settings)
    errors = form_errors(fields, DECISION_LABELS)
    return _contact_page(
        ctx, contact, template="decision.html", errors=errors, form=form, status_code=422
    )


async def _invalid_form(
    session: SessionDep,
    ctx: PageContext,
    contact_id: uuid.UUID,
    settings: TriageSettings,
    exc: ValidationError,
    form: dict[str, str],
    labels: dict[str, str],
) -> Response:
    errors = form_errors(validation_fields(exc), labels)
    return await contact_page_again(
        session, ctx, contact_id, settings, errors=errors, form=form, status_code=422
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
        return await _invalid_form(session, ctx, contact_id, settings, exc, form, labels)
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
        return await _invalid_form(session, ctx, contact_id, settings, exc, form, labels)
    await work.give_feedback(session, principal=ctx.principal, contact_id=contact_id, body=body)
    return see_other(f"/contacts/{contact_id}?done=feedback")


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
        return await _invalid_form(session, ctx, contact_id, settings, exc, form, labels)
    await screening.screen(session, principal=ctx.principal, contact_id=contact_id, body=body)
    # Routed out of the DV lane, the contact is no longer the screener's to see: back to the lane.
    return see_other("/queue?lane=dv_screening")


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
        return await _invalid_form(session, ctx, contact_id, settings, exc, form, labels)
    contact = await work.contact_for(session, ctx.principal, contact_id)
    await clock_service.pause_clock(
        session, contact_id=contact.id, kind=kind, reason=body.reason, at=read.now_utc()
    )
    await _clock_audit(session, ctx, "clock.pause", contact.id)
    return see_other(f"/contacts/{contact_id}?done=paused")


@router.post("/contacts/{contact_id}/clocks/{kind}/resume")
async def resume_clock(
    contact_id: uuid.UUID, kind: str, request: Request, session: SessionDep, ctx: Managers
) -> Response:
    await form_with_csrf(request, ctx)
    contact = await work.contact_for(session, ctx.principal, contact_id)
    await clock_service.resume_clock(session, contact_id=contact.id, kind=kind, at=read.now_utc())
    await _clock_audit(session, ctx, "clock.resume", contact.id)
    return see_other(f"/contacts/{contact_id}?done=resumed")


async def _clock_audit(
    session: SessionDep, ctx: PageContext, action: str, contact_id: uuid.UUID
) -> None:
    await audit.record(
        session,
        service=SERVICE,
        actor=ctx.principal,
        action=action,
        entity_type="contact",
        entity_id=contact_id,
    )
