"""Bodies of the queue: one item per contact (a sibling group is one item)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

OpenStatus = Literal["open", "awaiting_sign_off"]


class SubjectSummary(BaseModel):
    position: int
    kind: str
    name: str
    age: int | None


class QueueItem(BaseModel):
    id: uuid.UUID
    reference: str
    kind: str
    channel: str
    status: str
    lane: str
    level: int
    rag: str
    priority: int
    safety_floor: bool
    received_at: datetime
    deadline_at: datetime
    breached: bool
    # Which clocks are breached (managers see breaches in the queue).
    breached_clocks: list[str] = []
    re_referral: bool
    assigned_to: str | None
    lease_holder: str | None
    lease_expires_at: datetime | None
    subjects: list[SubjectSummary]
    # MASH partner checks past their due time and still unanswered (triage.checks).
    overdue_checks: int = 0
    # Active flags on the children's records (triage.children), e.g. ["cse", "missing"].
    child_flags: list[str] = []
