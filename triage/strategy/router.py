"""Strategy discussion endpoints: record, list, mark an action done, the shareable summary."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from services.db import SessionDep
from services.errors import Conflict, Forbidden, NotFound, Unprocessable, error_responses
from triage.dependencies import ActionPath, ContactPath, DiscussionPath, TriageSettingsDep
from triage.mash.access import MashStaffUser
from triage.strategy import service
from triage.strategy.render import summary_text
from triage.strategy.schemas import (
    ActionDone,
    ActionRead,
    DiscussionCreate,
    DiscussionRead,
    DiscussionSummary,
)

router = APIRouter(prefix="/v1/contacts/{contact_id}/strategy-discussions", tags=["mash"])


@router.post(
    "",
    status_code=201,
    response_model=DiscussionRead,
    responses=error_responses(NotFound, Unprocessable, Forbidden),
)
async def record_strategy_discussion(
    contact_id: ContactPath,
    body: DiscussionCreate,
    session: SessionDep,
    principal: MashStaffUser,
    settings: TriageSettingsDep,
) -> DiscussionRead:
    """Minute a strategy discussion: formal or not, who took part, decision, actions."""
    return await service.record_discussion(
        session, principal=principal, contact_id=contact_id, body=body, settings=settings
    )


@router.get("", response_model=list[DiscussionRead], responses=error_responses(NotFound, Forbidden))
async def list_strategy_discussions(
    contact_id: ContactPath, session: SessionDep, principal: MashStaffUser
) -> list[DiscussionRead]:
    """The contact's strategy discussions with their actions (overdue ones flagged)."""
    return await service.list_discussions(session, principal=principal, contact_id=contact_id)


@router.post(
    "/{discussion_id}/actions/{action_id}/done",
    response_model=ActionRead,
    responses=error_responses(NotFound, Conflict, Unprocessable, Forbidden),
)
async def complete_strategy_action(
    contact_id: ContactPath,
    discussion_id: DiscussionPath,
    action_id: ActionPath,
    body: ActionDone,
    session: SessionDep,
    principal: MashStaffUser,
) -> ActionRead:
    """Record the date an action was done."""
    return await service.mark_done(
        session,
        principal=principal,
        contact_id=contact_id,
        discussion_id=discussion_id,
        action_id=action_id,
        body=body,
    )


@router.get(
    "/{discussion_id}/summary",
    response_model=DiscussionSummary,
    responses=error_responses(NotFound, Forbidden),
)
async def strategy_discussion_summary(
    contact_id: ContactPath,
    discussion_id: DiscussionPath,
    session: SessionDep,
    principal: MashStaffUser,
) -> DiscussionSummary:
    """The summary to share with the attendees (what was said and agreed, no more)."""
    return await service.summary(
        session, principal=principal, contact_id=contact_id, discussion_id=discussion_id
    )


@router.get(
    "/{discussion_id}/summary.txt",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {}}}, **error_responses(NotFound, Forbidden)},
)
async def strategy_discussion_summary_text(
    contact_id: ContactPath,
    discussion_id: DiscussionPath,
    session: SessionDep,
    principal: MashStaffUser,
) -> PlainTextResponse:
    """The same summary as plain text (for email or print)."""
    summary = await service.summary(
        session, principal=principal, contact_id=contact_id, discussion_id=discussion_id
    )
    return PlainTextResponse(summary_text(summary))
