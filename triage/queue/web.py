"""The queue's pages: the queue (refreshing itself), its rows, and the decisions awaiting
the manager's sign-off. Read and audited as `GET /v1/queue` (`triage.queue.router`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from services import audit
from services.auth import Role
from services.db import SessionDep
from services.errors import Unprocessable
from services.web.pages import PageContext, page_router, render
from triage.dependencies import TriageSettingsDep
from triage.pages import SERVICE, TEMPLATES, SignOff, Staff
from triage.queue.lanes import lanes_for
from triage.queue.service import QueueFilters, decode_cursor, queue_page
from triage.rules.model import LANES
from triage.settings import TriageSettings

# A page refreshes its queue this often (the issue: a new contact shows within 5 seconds).
QUEUE_REFRESH_SECONDS = 3

router = page_router()


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
