"""Contacts and the queue: record, list, read, claim, release, assign, decide, sign off."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query

from services import audit
from services.auth import Principal, Role
from services.db import SessionDep
from services.errors import Conflict, Forbidden, NotFound, Unprocessable, error_responses
from services.models.triage import TriageContact
from services.types import QueryDatetime, SafeStr
from triage.access import lanes_for
from triage.council import load_council
from triage.dependencies import (
    DeciderUser,
    ManagerUser,
    ScreenerUser,
    SignOffUser,
    StaffUser,
    TriageSettingsDep,
)
from triage.rules.model import Lane
from triage.schemas.contacts import (
    AssignRequest,
    ClockMet,
    ClockPause,
    ClockRead,
    ContactCreate,
    ContactRead,
    DecisionCreate,
    DecisionRead,
    FeedbackCreate,
    FollowUpReconcile,
    LeaseRead,
    OpenStatus,
    Page,
    QueueItem,
    RecordedClock,
    ScreeningCreate,
    ScreeningRead,
    ScreeningResolution,
    SignOffRequest,
)
from triage.service import clocks as clock_service
from triage.service import intake, read, reconcile, screening, work
from triage.service.queue import QueueFilters, decode_cursor, queue_page
from triage.settings import TriageSettings

router = APIRouter(prefix="/v1", tags=["contacts"])
SERVICE = "triage"
ContactPath = Annotated[uuid.UUID, "contact id"]
ClockKind = Annotated[SafeStr, Path(max_length=40)]


async def _read(
    session: SessionDep, principal: Principal, contact: TriageContact, settings: TriageSettings
) -> ContactRead:
    council = await load_council(session, contact.council_id)
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="contact.read",
        entity_type="contact",
        entity_id=contact.id,
    )
    return await read.contact_read(
        session, contact, zone=council.calendar.zone, months=settings.re_referral_months
    )


@router.post(
    "/contacts",
    status_code=201,
    response_model=ContactRead,
    responses=error_responses(Unprocessable, Conflict, Forbidden),
)
async def record_front_door_contact(
    body: ContactCreate, session: SessionDep, principal: StaffUser, settings: TriageSettingsDep
) -> ContactRead:
    """Record a contact that did not arrive as a MARF (phone, email, walk-in, police DV, advice)."""
    if principal.role == Role.dv_screener and body.kind != "dv_notification":
        raise Forbidden("The DV screener records police DV notifications only.")
    contact = await intake.record_contact(
        session, principal=principal, body=body, settings=settings
    )
    # The recorder sees what they recorded, even when the rules put it in a lane they don't work.
    return await _read(session, principal, contact, settings)


@router.get("/queue", response_model=Page[QueueItem], responses=error_responses(Unprocessable))
async def list_triage_queue(
    session: SessionDep,
    principal: StaffUser,
    settings: TriageSettingsDep,
    lane: Lane | None = None,
    level: Annotated[int | None, Query(ge=1, le=10)] = None,
    status: OpenStatus | None = None,
    assigned_to: Annotated[SafeStr | None, Query(max_length=200)] = None,
    due_before: QueryDatetime | None = None,
    breached: bool | None = None,
    cursor: Annotated[SafeStr | None, Query(max_length=400)] = None,
    limit: Annotated[int | None, Query(ge=1, le=200)] = None,
) -> Page[QueueItem]:
    """Open contacts in the caller's lanes: priority first, then the nearest deadline."""
    filters = QueueFilters(
        lanes=lanes_for(principal.role),
        lane=lane,
        level=level,
        status=status,
        assigned_to=assigned_to,
        due_before=due_before,
        breached=breached,
    )
    size = min(limit or settings.queue_page_default, settings.queue_page_max)
    if cursor:
        decode_cursor(cursor)  # a bad cursor is a 422 before anything is written
    # The audit row first: it begins the request's transaction, and the page is read in it.
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="queue.read",
        entity_type="queue",
        entity_id=principal.council_id,
    )
    page = await queue_page(
        session, principal.council_id, filters, sub=principal.sub, limit=size, cursor=cursor
    )
    # Which contacts the page showed: each is a read of a child's record, if a short one.
    await audit.record_many(
        session,
        service=SERVICE,
        actor=principal,
        action="contact.listed",
        entity_type="contact",
        entity_ids=[item.id for item in page.items],
    )
    return page


@router.get(
    "/contacts/{contact_id}", response_model=ContactRead, responses=error_responses(NotFound)
)
async def get_triage_contact(
    contact_id: ContactPath, session: SessionDep, principal: StaffUser, settings: TriageSettingsDep
) -> ContactRead:
    """The whole contact: record, proposal with reasons, clocks, history, addenda, decisions."""
    contact = await work.contact_for(session, principal, contact_id)
    return await _read(session, principal, contact, settings)


def _lease(contact: TriageContact) -> LeaseRead:
    return LeaseRead(
        contact_id=contact.id,
        lease_holder=contact.lease_holder,
        lease_expires_at=contact.lease_expires_at,
        assigned_to=contact.assigned_to,
    )


@router.post(
    "/contacts/{contact_id}/claim",
    response_model=LeaseRead,
    responses=error_responses(NotFound, Conflict),
)
async def claim_triage_contact(
    contact_id: ContactPath, session: SessionDep, principal: StaffUser, settings: TriageSettingsDep
) -> LeaseRead:
    """Take the contact (a lease that expires): no one else can work it meanwhile."""
    contact = await work.claim(
        session, principal=principal, contact_id=contact_id, settings=settings
    )
    return _lease(contact)


@router.post(
    "/contacts/{contact_id}/release",
    response_model=LeaseRead,
    responses=error_responses(NotFound, Conflict),
)
async def release_triage_contact(
    contact_id: ContactPath, session: SessionDep, principal: StaffUser
) -> LeaseRead:
    """Give the contact back to the queue (its holder, or a manager)."""
    return _lease(await work.release(session, principal=principal, contact_id=contact_id))


@router.post(
    "/contacts/{contact_id}/assign",
    response_model=LeaseRead,
    responses=error_responses(NotFound, Forbidden),
)
async def assign_triage_contact(
    contact_id: ContactPath, body: AssignRequest, session: SessionDep, principal: ManagerUser
) -> LeaseRead:
    """Allocate the contact to a worker (managers)."""
    contact = await work.assign(
        session, principal=principal, contact_id=contact_id, assignee=body.assignee
    )
    return _lease(contact)


@router.post(
    "/contacts/{contact_id}/decision",
    status_code=201,
    response_model=DecisionRead,
    responses=error_responses(NotFound, Conflict, Unprocessable, Forbidden),
)
async def record_triage_decision(
    contact_id: ContactPath,
    body: DecisionCreate,
    session: SessionDep,
    principal: DeciderUser,
    settings: TriageSettingsDep,
) -> DecisionRead:
    """Record the front-door decision (held contacts only); some outcomes need sign-off."""
    decision = await work.decide(
        session, principal=principal, contact_id=contact_id, body=body, settings=settings
    )
    return DecisionRead.model_validate(decision)


@router.post(
    "/contacts/{contact_id}/sign-off",
    response_model=DecisionRead,
    responses=error_responses(NotFound, Conflict, Forbidden),
)
async def sign_off_triage_decision(
    contact_id: ContactPath,
    body: SignOffRequest,
    session: SessionDep,
    principal: SignOffUser,
    settings: TriageSettingsDep,
) -> DecisionRead:
    """A team manager approves the decision (it then counts as made) or returns it."""
    decision = await work.sign_off(
        session, principal=principal, contact_id=contact_id, body=body, settings=settings
    )
    return DecisionRead.model_validate(decision)


@router.post(
    "/contacts/{contact_id}/feedback",
    response_model=ContactRead,
    responses=error_responses(NotFound, Conflict, Forbidden),
)
async def give_referrer_feedback(
    contact_id: ContactPath,
    body: FeedbackCreate,
    session: SessionDep,
    principal: DeciderUser,
    settings: TriageSettingsDep,
) -> ContactRead:
    """Feedback to the referrer: what was decided and what happens next."""
    contact = await work.give_feedback(
        session, principal=principal, contact_id=contact_id, body=body
    )
    return await _read(session, principal, contact, settings)


@router.post(
    "/contacts/{contact_id}/screening",
    status_code=201,
    response_model=ScreeningRead,
    responses=error_responses(NotFound, Conflict, Forbidden),
)
async def screen_dv_contact(
    contact_id: ContactPath, body: ScreeningCreate, session: SessionDep, principal: ScreenerUser
) -> ScreeningRead:
    """Joint DV screening: route the notification, and optionally to Operation Encompass."""
    result = await screening.screen(session, principal=principal, contact_id=contact_id, body=body)
    return ScreeningRead.model_validate(result)


@router.post(
    "/contacts/{contact_id}/follow-up-claim",
    response_model=ContactRead,
    responses=error_responses(NotFound, Conflict, Forbidden),
)
async def reconcile_follow_up_claim(
    contact_id: ContactPath,
    body: FollowUpReconcile,
    session: SessionDep,
    principal: DeciderUser,
    settings: TriageSettingsDep,
) -> ContactRead:
    """Reconcile a MARF that claims to follow up a phone contact: join it, or keep it separate."""
    contact = await reconcile.reconcile(
        session, principal=principal, contact_id=contact_id, body=body, settings=settings
    )
    return await _read(session, principal, contact, settings)


@router.post(
    "/contacts/{contact_id}/screening/resolution",
    status_code=201,
    response_model=ScreeningRead,
    responses=error_responses(NotFound, Conflict, Forbidden),
)
async def resolve_dv_screening(
    contact_id: ContactPath, body: ScreeningResolution, session: SessionDep, principal: SignOffUser
) -> ScreeningRead:
    """A team manager routes a DV notification the two screeners disagree on."""
    result = await screening.resolve(session, principal=principal, contact_id=contact_id, body=body)
    return ScreeningRead.model_validate(result)


@router.post(
    "/contacts/{contact_id}/clocks/{kind}/pause",
    response_model=ClockRead,
    responses=error_responses(NotFound, Conflict, Forbidden),
)
async def pause_triage_clock(
    contact_id: ContactPath,
    kind: ClockKind,
    body: ClockPause,
    session: SessionDep,
    principal: ManagerUser,
) -> ClockRead:
    """Pause a clock with a recorded reason (managers)."""
    contact = await work.contact_for(session, principal, contact_id)
    clock = await clock_service.pause_clock(
        session, contact_id=contact.id, kind=kind, reason=body.reason, at=read.now_utc()
    )
    council = await load_council(session, contact.council_id)
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="clock.pause",
        entity_type="contact",
        entity_id=contact.id,
    )
    return read.clock_read(clock, council.calendar.zone)


@router.post(
    "/contacts/{contact_id}/clocks/{kind}/resume",
    response_model=ClockRead,
    responses=error_responses(NotFound, Conflict, Forbidden),
)
async def resume_triage_clock(
    contact_id: ContactPath, kind: ClockKind, session: SessionDep, principal: ManagerUser
) -> ClockRead:
    """Resume a paused clock; its deadline moves on by the time it was paused."""
    contact = await work.contact_for(session, principal, contact_id)
    clock = await clock_service.resume_clock(
        session, contact_id=contact.id, kind=kind, at=read.now_utc()
    )
    council = await load_council(session, contact.council_id)
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="clock.resume",
        entity_type="contact",
        entity_id=contact.id,
    )
    return read.clock_read(clock, council.calendar.zone)


@router.post(
    "/contacts/{contact_id}/clocks/{kind}/met",
    response_model=ClockRead,
    responses=error_responses(NotFound, Conflict, Unprocessable, Forbidden),
)
async def meet_triage_clock(
    contact_id: ContactPath,
    kind: RecordedClock,
    body: ClockMet,
    session: SessionDep,
    principal: DeciderUser,
) -> ClockRead:
    """Record that the assessment was authorised or the ICPC held (at `met_at`, default now)."""
    contact = await work.contact_for(session, principal, contact_id)
    clock = await clock_service.meet_clock(
        session, contact_id=contact.id, kind=kind, at=body.met_at or read.now_utc()
    )
    council = await load_council(session, contact.council_id)
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action=f"{read.MET_ACTION}{kind}",
        entity_type="contact",
        entity_id=contact.id,
    )
    return read.clock_read(clock, council.calendar.zone, {kind: principal.sub})
