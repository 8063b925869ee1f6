"""The audit trail as an auditor reads it: ids, roles and actions, never a child's details."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class AuditRow(BaseModel):
    id: int
    occurred_at: datetime
    service: str
    actor_sub: str
    actor_role: str
    actor_org: str | None
    action: str
    entity_type: str
    entity_id: str
    request_id: str | None
    reason: str | None
