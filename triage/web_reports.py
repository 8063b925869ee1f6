"""The team manager's pages: the reports (with charts and their tables) and the rule sets.

Same service calls and audit rows as `triage.routers.reports` and `triage.routers.rulesets`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response

from services import audit
from services.auth import Principal
from services.db import SessionDep
from services.web.pages import (
    PageContext,
    form_with_csrf,
    page_router,
    page_user,
    render,
    see_other,
)
from triage.access import MANAGERS, STAFF
from triage.reports import service as scorecard_service
from triage.schemas.rulesets import RuleSetSummary
from triage.service import reports, rulesets
from triage.web import TEMPLATES
from triage.web_views import LANE_NAMES, bar_chart, words

SERVICE = "triage"
router = page_router()
Managers = Annotated[PageContext, Depends(page_user(*MANAGERS))]
Staff = Annotated[PageContext, Depends(page_user(*STAFF))]


async def _audit(session: SessionDep, principal: Principal, action: str, entity: object) -> None:
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action=action,
        entity_type="report" if action.startswith("report.") else "rule_set",
        entity_id=entity,
    )


@router.get("/reports")
async def reports_page(session: SessionDep, ctx: Managers) -> Response:
    """In progress, unallocated over 7 days, and the scorecard with the period before."""
    principal, now = ctx.principal, datetime.now(UTC)
    await _audit(session, principal, "report.in_progress", principal.council_id)
    in_progress = await reports.in_progress(session, council_id=principal.council_id, now=now)
    await _audit(session, principal, "report.unallocated", principal.council_id)
    unallocated = await reports.unallocated(session, council_id=principal.council_id, now=now)
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
                (f"{words(k.name)} ({words(k.contact_type or 'all')})", round((k.value or 0) * 100))
                for k in scorecard.indicators
            ],
            title="Indicators, per cent",
            maximum=100,
        ),
    )


@router.get("/rule-sets")
async def rule_sets_page(session: SessionDep, ctx: Staff, done: str | None = None) -> Response:
    """Every version of the council's rule set, newest first."""
    rows = await rulesets.list_rule_sets(session, council_id=ctx.principal.council_id)
    return render(
        TEMPLATES,
        "rule_sets.html",
        ctx,
        current="/rule-sets",
        title="Rule sets",
        rule_sets=[RuleSetSummary.model_validate(r) for r in rows],
        is_manager=ctx.principal.role in MANAGERS,
        banner={"draft": "Draft created.", "published": "Rule set published."}.get(done or ""),
    )


@router.get("/rule-sets/{rule_set_id}")
async def rule_set_page(rule_set_id: uuid.UUID, session: SessionDep, ctx: Staff) -> Response:
    """One version: its rules, and what changed from the version before."""
    row = await rulesets.get_rule_set(
        session, council_id=ctx.principal.council_id, rule_set_id=rule_set_id
    )
    changes = None
    if row.version > 1:
        _, _, diff = await rulesets.diff(
            session, council_id=ctx.principal.council_id, rule_set_id=rule_set_id, against=None
        )
        changes = {k: v for k, v in diff.items() if v}  # what did change, nothing else
    return render(
        TEMPLATES,
        "rule_set.html",
        ctx,
        current="/rule-sets",
        title=f"Rule set version {row.version}",
        rule_set=row,
        changes=changes,
        is_manager=ctx.principal.role in MANAGERS,
    )


@router.post("/rule-sets/{rule_set_id}/copy")
async def copy_rule_set(
    rule_set_id: uuid.UUID, request: Request, session: SessionDep, ctx: Managers
) -> Response:
    """A new draft copied from this version (published versions never change)."""
    await form_with_csrf(request, ctx)
    base = await rulesets.get_rule_set(
        session, council_id=ctx.principal.council_id, rule_set_id=rule_set_id
    )
    row = await rulesets.create_rule_set(
        session, principal=ctx.principal, name=base.name, body=None, based_on=base.id
    )
    await _audit(session, ctx.principal, "rule_set.create", row.id)
    return see_other(f"/rule-sets/{row.id}")


@router.post("/rule-sets/{rule_set_id}/publish")
async def publish_rule_set(
    rule_set_id: uuid.UUID, request: Request, session: SessionDep, ctx: Managers
) -> Response:
    await form_with_csrf(request, ctx)
    row = await rulesets.publish(session, principal=ctx.principal, rule_set_id=rule_set_id)
    await _audit(session, ctx.principal, "rule_set.publish", row.id)
    return see_other("/rule-sets?done=published")
