"""Managers' reports: in progress (twice daily), unallocated over 7 days, KPI scorecard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from services import audit
from services.db import SessionDep
from services.errors import FieldError, Forbidden, error_responses
from services.types import QueryDatetime
from triage.council import load_council
from triage.dependencies import ManagerUser
from triage.reports.exceptions import BadPeriod
from triage.reports.periods import MAX_PERIOD_DAYS, instant_errors
from triage.schemas.reports import InProgressReport, Scorecard
from triage.service import reports

router = APIRouter(prefix="/v1/reports", tags=["reports"])
SERVICE = "triage"


@router.get("/in-progress", response_model=InProgressReport, responses=error_responses(Forbidden))
async def triage_in_progress_report(
    session: SessionDep, principal: ManagerUser
) -> InProgressReport:
    """Every contact in progress with its age and deadline (run twice daily)."""
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="report.in_progress",
        entity_type="report",
        entity_id=principal.council_id,
    )
    return await reports.in_progress(
        session, council_id=principal.council_id, now=datetime.now(UTC)
    )


@router.get("/unallocated", response_model=InProgressReport, responses=error_responses(Forbidden))
async def triage_unallocated_report(
    session: SessionDep, principal: ManagerUser
) -> InProgressReport:
    """Contacts with no allocated worker more than 7 days after receipt."""
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="report.unallocated",
        entity_type="report",
        entity_id=principal.council_id,
    )
    return await reports.unallocated(
        session, council_id=principal.council_id, now=datetime.now(UTC)
    )


@router.get(
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
    now = datetime.now(UTC)
    errors = instant_errors(period_from, period_to)
    if errors:
        raise BadPeriod(fields=errors)
    end = period_to or now
    start = period_from or end - timedelta(days=28)
    if start >= end:
        raise BadPeriod(fields=[FieldError(path="from", reason="from is not before to")])
    if end - start > timedelta(days=MAX_PERIOD_DAYS):
        raise BadPeriod(fields=[FieldError(path="from", reason="a period is at most a year")])
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="report.kpis",
        entity_type="report",
        entity_id=principal.council_id,
    )
    council = await load_council(session, principal.council_id)
    return await reports.scorecard(
        session,
        council_id=principal.council_id,
        start=start,
        end=end,
        now=now,
        child_population=council.child_population,
    )
