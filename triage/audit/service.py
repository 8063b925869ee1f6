"""Reading the audit trail: one page of the council's rows; the read is itself audited."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services import audit
from services.auth import Principal
from services.paging import Page
from triage.audit.repository import AuditFilters, list_audit
from triage.audit.schemas import AuditRow

__all__ = ["AuditFilters", "read_trail"]


async def read_trail(
    session: AsyncSession,
    *,
    principal: Principal,
    filters: AuditFilters,
    cursor: str | None,
    limit: int,
) -> Page[AuditRow]:
    page = await list_audit(
        session, council_id=principal.council_id, filters=filters, cursor=cursor, limit=limit
    )
    # Reading the trail is itself on the trail.
    await audit.record(
        session,
        service="triage",
        actor=principal,
        action="audit.read",
        entity_type="audit",
        entity_id=principal.council_id,
    )
    return page
