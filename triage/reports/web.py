"""The team manager's reports page (with charts and their tables).

Same service calls and audit rows as `triage.reports.router`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.responses import Response

from services.db import SessionDep
from services.web.pages import page_router, render
from triage.pages import TEMPLATES, Managers
from triage.reports import operational as reports
from triage.reports import service as scorecard_service
from triage.reports.schemas import IndicatorRead
from triage.wording import LANE_NAMES, bar_chart, words

router = page_router()


def _group(k: IndicatorRead) -> str:
    """The indicator's contact type, with the lane for contacts not yet decided."""
    group = words(k.contact_type or "all")
    return f"{group}, {LANE_NAMES.get(k.lane, k.lane)}" if k.lane else group


@router.get("/reports")
async def reports_page(session: SessionDep, ctx: Managers) -> Response:
    """In progress, unallocated over 7 days, and the scorecard with the period before."""
    principal, now = ctx.principal, datetime.now(UTC)
    # The same audited reads as GET /v1/reports/in-progress and /v1/reports/unallocated.
    in_progress = await reports.in_progress_report(session, principal=principal)
    unallocated = await reports.unallocated_report(session, principal=principal)
    # The same scorecard as GET /v1/reports/scorecard (its default 28 days to today, with the
    # period before and the direction of travel), audited there as `report.scorecard`.
    scorecard = await scorecard_service.scorecard(
        session, principal=principal, first=None, last=None, now=now
    )
    by_lane: dict[str, int] = {}
    for row in in_progress.rows:
        by_lane[row.lane] = by_lane.get(row.lane, 0) + 1
    return render(
        TEMPLATES,
        "reports.html",
        ctx,
        current="/reports",
        title="Reports",
        in_progress=in_progress,
        unallocated=unallocated,
        scorecard=scorecard,
        by_lane=sorted(by_lane.items()),
        lane_chart=bar_chart(
            [(LANE_NAMES.get(lane, lane), n) for lane, n in sorted(by_lane.items())],
            title="Contacts in progress by lane",
        ),
        kpi_chart=bar_chart(
            [
                (f"{words(k.name)} ({_group(k)})", round((k.value or 0) * 100))
                for k in scorecard.indicators
            ],
            title="Indicators, per cent",
            maximum=100,
        ),
    )
