"""A contact's clocks: pause and resume (managers), record the assessment or ICPC (HTTP only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from services.db import SessionDep
from services.errors import Conflict, Forbidden, NotFound, Unprocessable, error_responses
from triage.clocks import service
from triage.clocks.schemas import ClockMet, ClockPause, RecordedClock
from triage.contacts.schemas import ClockRead
from triage.dependencies import ClockKindPath, ContactPath, DeciderUser, ManagerUser

router = APIRouter(prefix="/v1", tags=["contacts"])
RecordedClockPath = Annotated[
    RecordedClock, Path(description="The clock met by recording its event: `assessment` or `icpc`.")
]


@router.post(
    "/contacts/{contact_id}/clocks/{kind}/pause",
    response_model=ClockRead,
    responses=error_responses(NotFound, Conflict, Forbidden),
)
async def pause_triage_clock(
    contact_id: ContactPath,
    kind: ClockKindPath,
    body: ClockPause,
    session: SessionDep,
    principal: ManagerUser,
) -> ClockRead:
    """Pause a clock with a recorded reason (managers)."""
    return await service.pause(
        session, principal=principal, contact_id=contact_id, kind=kind, reason=body.reason
    )


@router.post(
    "/contacts/{contact_id}/clocks/{kind}/resume",
    response_model=ClockRead,
    responses=error_responses(NotFound, Conflict, Forbidden),
)
async def resume_triage_clock(
    contact_id: ContactPath, kind: ClockKindPath, session: SessionDep, principal: ManagerUser
) -> ClockRead:
    """Resume a paused clock; its deadline moves on by the time it was paused."""
    return await service.resume(session, principal=principal, contact_id=contact_id, kind=kind)


@router.post(
    "/contacts/{contact_id}/clocks/{kind}/met",
    response_model=ClockRead,
    responses=error_responses(NotFound, Conflict, Unprocessable, Forbidden),
)
async def meet_triage_clock(
    contact_id: ContactPath,
    kind: RecordedClockPath,
    body: ClockMet,
    session: SessionDep,
    principal: DeciderUser,
) -> ClockRead:
    """Record that the assessment was authorised or the ICPC held (at `met_at`, default now)."""
    return await service.record_met(
        session, principal=principal, contact_id=contact_id, kind=kind, met_at=body.met_at
    )
