"""Contacts: record, read, claim, release, assign, decide, sign off, feedback, reconcile.

HTTP only: each handler parses the request, calls the service and shapes the answer (the
services audit and own the SQL through their repositories).
"""

from __future__ import annotations

from fastapi import APIRouter

from services.db import SessionDep
from services.errors import Conflict, Forbidden, NotFound, Unprocessable, error_responses
from triage.contacts import service
from triage.contacts.schemas import (
    AssignRequest,
    ContactCreate,
    ContactRead,
    DecisionCreate,
    DecisionRead,
    FeedbackCreate,
    FollowUpReconcile,
    LeaseRead,
    SignOffRequest,
)
from triage.dependencies import (
    ContactPath,
    DeciderUser,
    ManagerUser,
    SignOffUser,
    StaffUser,
    TriageSettingsDep,
)
from triage.intake import reconcile

router = APIRouter(prefix="/v1", tags=["contacts"])


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
    contact = await service.record_contact(
        session, principal=principal, body=body, settings=settings
    )
    # The recorder sees what they recorded, even when the rules put it in a lane they don't work.
    return await service.view(session, principal=principal, contact=contact, settings=settings)


@router.get(
    "/contacts/{contact_id}", response_model=ContactRead, responses=error_responses(NotFound)
)
async def get_triage_contact(
    contact_id: ContactPath, session: SessionDep, principal: StaffUser, settings: TriageSettingsDep
) -> ContactRead:
    """The whole contact: record, proposal with reasons, clocks, history, addenda, decisions."""
    return await service.read_contact(
        session, principal=principal, contact_id=contact_id, settings=settings
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
    contact = await service.claim(
        session, principal=principal, contact_id=contact_id, settings=settings
    )
    return service.lease_read(contact)


@router.post(
    "/contacts/{contact_id}/release",
    response_model=LeaseRead,
    responses=error_responses(NotFound, Conflict),
)
async def release_triage_contact(
    contact_id: ContactPath, session: SessionDep, principal: StaffUser
) -> LeaseRead:
    """Give the contact back to the queue (its holder, or a manager)."""
    contact = await service.release(session, principal=principal, contact_id=contact_id)
    return service.lease_read(contact)


@router.post(
    "/contacts/{contact_id}/assign",
    response_model=LeaseRead,
    responses=error_responses(NotFound, Forbidden),
)
async def assign_triage_contact(
    contact_id: ContactPath, body: AssignRequest, session: SessionDep, principal: ManagerUser
) -> LeaseRead:
    """Allocate the contact to a worker (managers)."""
    contact = await service.assign(
        session, principal=principal, contact_id=contact_id, assignee=body.assignee
    )
    return service.lease_read(contact)


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
    decision = await service.decide(
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
    decision = await service.sign_off(
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
    contact = await service.give_feedback(
        session, principal=principal, contact_id=contact_id, body=body
    )
    return await service.view(session, principal=principal, contact=contact, settings=settings)


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
    return await service.view(session, principal=principal, contact=contact, settings=settings)
