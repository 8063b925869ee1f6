"""Bodies of the chronology and MASH overview endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from triage.checks.schemas import CheckRead
from triage.strategy.schemas import ActionRead


class ChronologyEntry(BaseModel):
    at: datetime
    kind: str
    summary: str
    actor: str | None = None
    ref_id: uuid.UUID | None = None


class Chronology(BaseModel):
    contact_id: uuid.UUID
    reference: str
    entries: list[ChronologyEntry]


class MashOverview(BaseModel):
    """The MASH's view of a contact at a glance: RAG, deadline, what is overdue."""

    contact_id: uuid.UUID
    rag: str
    screened: bool
    mash_due_at: datetime | None
    mash_clock_state: str | None
    icpc_due_at: datetime | None
    checks: list[CheckRead]
    overdue_checks: int
    overdue_actions: list[ActionRead]
