"""HTTP layer of the reports: the managers' in-progress, unallocated and KPI reports, the
scorecard, the CIN census return, the assessment factors, a child's disability codes and the
closure of a child's episode."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response, StreamingResponse

from services.db import SessionDep
from services.errors import Conflict, Forbidden, NotFound, Unprocessable, error_responses
from services.types import QueryDatetime
from triage.dependencies import ContactPath, DeciderUser, ManagerUser, StreamSession
from triage.reports import census_service, closures, disabilities, factors, operational, service
from triage.reports.exceptions import BadCollectionYear, BadPeriod, CensusReturnInvalid
from triage.reports.render import scorecard_csv
from triage.reports.schemas import (
    AssessmentFactorsRead,
    AssessmentFactorsWrite,
    CensusValidation,
    ChildClosureRead,
    ChildClosureWrite,
    ChildDisabilitiesRead,
    ChildDisabilitiesWrite,
    ExportFormat,
    InProgressReport,
    Scorecard,
    ScorecardReport,
)

router = APIRouter(tags=["reports"])
# The managers' reports (in progress twice daily, unallocated over 7 days, KPIs).
managers = APIRouter(prefix="/v1/reports")

Year = Annotated[
    int,
    Query(ge=2000, le=2100, description="Collection year: 1 April of the year before to 31 March"),
]
CSV = {"text/csv": {"schema": {"type": "string"}}}


@router.get(
    "/v1/reports/scorecard",
    response_model=ScorecardReport,
    responses={200: {"content": CSV}, **error_responses(Forbidden, BadPeriod)},
)
async def triage_scorecard(
    session: SessionDep,
    principal: ManagerUser,
    first: Annotated[date | None, Query(alias="from", description="First day (local)")] = None,
    last: Annotated[
        date | None, Query(alias="to", description="Last day (local), inclusive")
    ] = None,
    fmt: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> ScorecardReport | Response:
    """The scorecard for a period, each indicator with the period before and its direction."""
    card = await service.scorecard(session, principal=principal, first=first, last=last)
    if fmt == "csv":
        name = f"scorecard-{card.period.first_day}-{card.period.last_day}.csv"
        return Response(
            scorecard_csv(card),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return card


@router.get(
    "/v1/exports/cin-referrals/validation",
    response_model=CensusValidation,
    responses=error_responses(Forbidden, BadCollectionYear),
)
async def triage_cin_census_validation(
    session: SessionDep, principal: ManagerUser, year: Year
) -> CensusValidation:
    """Every CIN census rule the year's referrals break, each with the child's record."""
    return await census_service.validate_census(session, principal=principal, year=year)


@router.get(
    "/v1/exports/cin-referrals",
    responses={
        200: {"content": {**CSV, "application/xml": {"schema": {"type": "string"}}}},
        **error_responses(Forbidden, CensusReturnInvalid),
    },
    response_class=StreamingResponse,
)
async def triage_cin_census_export(
    # The streaming session first: opened before, closed after, the function-scoped one.
    stream: StreamSession,
    session: SessionDep,
    principal: ManagerUser,
    year: Year,
    fmt: Annotated[ExportFormat, Query(alias="format")] = "csv",
) -> StreamingResponse:
    """The CIN census return of referrals for a collection year (CSV or the census XML)."""
    # Checked on the streaming session, in the snapshot the return is then streamed from.
    refusal = await census_service.check_census_export(
        session, principal=principal, year=year, fmt=fmt, stream=stream
    )
    if refusal is not None:
        # Sent as the platform renders a raised error, but the audit rows commit with it.
        return JSONResponse(  # type: ignore[return-value]
            refusal.body().model_dump(exclude_none=True), status_code=refusal.status_code
        )
    lines = census_service.census_lines(stream, council_id=principal.council_id, year=year, fmt=fmt)
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/xml"
    name = f"cin-referrals-{year}.{fmt}"
    return StreamingResponse(
        lines, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.put(
    "/v1/contacts/{contact_id}/assessment-factors",
    response_model=AssessmentFactorsRead,
    responses=error_responses(Forbidden, NotFound, Conflict, Unprocessable),
)
async def triage_record_assessment_factors(
    session: SessionDep,
    principal: DeciderUser,
    contact_id: ContactPath,
    body: AssessmentFactorsWrite,
) -> AssessmentFactorsRead:
    """Record the CIN census factors identified at the end of the contact's assessment."""
    return await factors.record(
        session, principal=principal, contact_id=contact_id, body=body, now=datetime.now(UTC)
    )


@router.put(
    "/v1/contacts/{contact_id}/disabilities",
    response_model=ChildDisabilitiesRead,
    responses=error_responses(Forbidden, NotFound, Conflict, Unprocessable),
)
async def triage_record_child_disabilities(
    session: SessionDep,
    principal: DeciderUser,
    contact_id: ContactPath,
    body: ChildDisabilitiesWrite,
) -> ChildDisabilitiesRead:
    """Record the CIN census disability codes of a child on the contact (by their number):
    a referral, or a contact still open (409 on one decided as anything else)."""
    return await disabilities.record(
        session, principal=principal, contact_id=contact_id, body=body, now=datetime.now(UTC)
    )


@router.put(
    "/v1/contacts/{contact_id}/closure",
    response_model=ChildClosureRead,
    responses=error_responses(Forbidden, NotFound, Conflict, Unprocessable),
)
async def triage_record_child_closure(
    session: SessionDep,
    principal: DeciderUser,
    contact_id: ContactPath,
    body: ChildClosureWrite,
) -> ChildClosureRead:
    """Record the closure (CIN census closure date and reason) of the episode a child's
    referral opened, by the child's number on the contact (409 on a contact decided as
    anything but a referral)."""
    return await closures.record(
        session, principal=principal, contact_id=contact_id, body=body, now=datetime.now(UTC)
    )


@managers.get("/in-progress", response_model=InProgressReport, responses=error_responses(Forbidden))
async def triage_in_progress_report(
    session: SessionDep, principal: ManagerUser
) -> InProgressReport:
    """Every contact in progress with its age and deadline (run twice daily)."""
    return await operational.in_progress_report(session, principal=principal)


@managers.get("/unallocated", response_model=InProgressReport, responses=error_responses(Forbidden))
async def triage_unallocated_report(
    session: SessionDep, principal: ManagerUser
) -> InProgressReport:
    """Contacts with no allocated worker more than 7 days after receipt."""
    return await operational.unallocated_report(session, principal=principal)


@managers.get(
    "/kpis",
    response_model=Scorecard,
    responses=error_responses(Forbidden, BadPeriod),
    deprecated=True,
)
async def triage_kpi_scorecard(
    session: SessionDep,
    principal: ManagerUser,
    period_from: Annotated[QueryDatetime | None, Query(alias="from")] = None,
    period_to: Annotated[QueryDatetime | None, Query(alias="to")] = None,
) -> Scorecard:
    """Deprecated: use GET /v1/reports/scorecard (its definitions differ; docs/reports.md).

    KPI scorecard with targets and polarity, per contact type (default: last 28 days)."""
    return await operational.kpi_scorecard(
        session, principal=principal, period_from=period_from, period_to=period_to
    )


router.include_router(managers)
