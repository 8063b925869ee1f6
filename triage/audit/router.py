"""The audit trail for the council's auditors: who read or changed which record, and when."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from services.auth import Principal, Role, require_roles
from services.db import SessionDep
from services.errors import Unprocessable, error_responses
from services.paging import Page
from triage.audit import service
from triage.audit.schemas import AuditRow

router = APIRouter(prefix="/v1", tags=["audit"])
AuditorUser = Annotated[Principal, Depends(require_roles(Role.auditor))]
# A page of the trail: the default and the cap (an auditor pages through, never dumps).
PAGE_DEFAULT, PAGE_MAX = 50, 500


@router.get("/audit", response_model=Page[AuditRow], responses=error_responses(Unprocessable))
async def list_audit_trail(
    session: SessionDep,
    principal: AuditorUser,
    child_contact_id: Annotated[
        uuid.UUID | None,
        Query(description="The children of this contact: every record about them, any contact"),
    ] = None,
    child_position: Annotated[
        int | None, Query(ge=0, le=100, description="Only this subject of that contact")
    ] = None,
    actor_sub: Annotated[str | None, Query(max_length=200)] = None,
    entity_type: Annotated[str | None, Query(max_length=64)] = None,
    entity_id: Annotated[str | None, Query(max_length=64)] = None,
    occurred_from: AwareDatetime | None = None,
    occurred_to: AwareDatetime | None = None,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = PAGE_DEFAULT,
) -> Page[AuditRow]:
    """The council's audit trail, newest first: by child, actor, record and time range."""
    filters = service.AuditFilters(
        child_contact_id=child_contact_id,
        child_position=child_position,
        actor_sub=actor_sub,
        entity_type=entity_type,
        entity_id=entity_id,
        occurred_from=occurred_from,
        occurred_to=occurred_to,
    )
    return await service.read_trail(
        session, principal=principal, filters=filters, cursor=cursor, limit=limit
    )
