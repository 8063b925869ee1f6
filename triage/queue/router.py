"""The queue: open contacts in the caller's lanes, most urgent first (HTTP only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.db import SessionDep
from services.errors import Unprocessable, error_responses
from services.paging import Page
from services.types import QueryDatetime, SafeStr
from triage.dependencies import StaffUser, TriageSettingsDep
from triage.queue import service
from triage.queue.lanes import lanes_for
from triage.queue.schemas import OpenStatus, QueueItem
from triage.rules.model import Lane

router = APIRouter(prefix="/v1", tags=["contacts"])


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
    filters = service.QueueFilters(
        lanes=lanes_for(principal.role),
        lane=lane,
        level=level,
        status=status,
        assigned_to=assigned_to,
        due_before=due_before,
        breached=breached,
    )
    size = min(limit or settings.queue_page_default, settings.queue_page_max)
    return await service.read_queue(
        session, principal=principal, filters=filters, limit=size, cursor=cursor
    )
