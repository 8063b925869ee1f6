"""Partner check endpoints: request (MASH staff), read and answer (the partner agency)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from services.db import SessionDep
from services.errors import Conflict, Forbidden, NotFound, Unprocessable, error_responses
from triage.checks import service
from triage.checks.schemas import CheckRead, CheckResponse, ChecksReport, ChecksRequest, CheckStatus
from triage.dependencies import CheckPath, ContactPath, ManagerUser
from triage.mash.access import MashReader, MashStaffUser, PartnerUser, keeping_refusals

router = APIRouter(prefix="/v1", tags=["mash"])


@router.post(
    "/contacts/{contact_id}/checks",
    status_code=201,
    response_model=list[CheckRead],
    responses=error_responses(NotFound, Conflict, Unprocessable, Forbidden),
)
async def request_partner_checks(
    contact_id: ContactPath, body: ChecksRequest, session: SessionDep, principal: MashStaffUser
) -> list[CheckRead]:
    """Ask the named partner agencies what they hold; each check is due by the RAG."""
    return await service.request_checks(
        session, principal=principal, contact_id=contact_id, body=body
    )


@router.get(
    "/contacts/{contact_id}/checks",
    response_model=list[CheckRead],
    responses=error_responses(NotFound, Forbidden),
)
async def list_contact_checks(
    contact_id: ContactPath, session: SessionDep, principal: MashReader
) -> list[CheckRead] | JSONResponse:
    """Every partner check on the contact, overdue ones flagged (MASH and its partners)."""
    return await keeping_refusals(
        service.contact_checks(session, principal=principal, contact_id=contact_id)
    )


@router.get("/checks", response_model=list[CheckRead], responses=error_responses(Forbidden))
async def list_agency_checks(
    session: SessionDep,
    principal: PartnerUser,
    status: Annotated[list[CheckStatus] | None, Query()] = None,
) -> list[CheckRead]:
    """The checks addressed to the caller's agency, soonest due first (open by default)."""
    return await service.agency_checks(
        session, principal=principal, statuses=status or ["requested"]
    )


@router.get(
    "/checks/{check_id}", response_model=CheckRead, responses=error_responses(NotFound, Forbidden)
)
async def read_partner_check(
    check_id: CheckPath, session: SessionDep, principal: MashReader
) -> CheckRead | JSONResponse:
    """One check (a partner reads only its own agency's)."""
    return await keeping_refusals(
        service.get_check(session, principal=principal, check_id=check_id)
    )


@router.post(
    "/checks/{check_id}/response",
    response_model=CheckRead,
    responses=error_responses(NotFound, Conflict, Unprocessable, Forbidden),
)
async def answer_partner_check(
    check_id: CheckPath, body: CheckResponse, session: SessionDep, principal: PartnerUser
) -> CheckRead | JSONResponse:
    """Record what the agency holds, that it holds nothing, or why it declines."""
    return await keeping_refusals(
        service.respond(session, principal=principal, check_id=check_id, body=body)
    )


@router.get(
    "/reports/partner-checks", response_model=ChecksReport, responses=error_responses(Forbidden)
)
async def partner_checks_report(session: SessionDep, principal: ManagerUser) -> ChecksReport:
    """Open, overdue and late-answered partner checks per agency."""
    return await service.report(session, principal=principal)
