"""Bodies of the handover endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from triage.checks.schemas import CheckRead
from triage.notes.schemas import NoteRead
from triage.screening.schemas import RagRead
from triage.strategy.schemas import DiscussionRead


class AttemptRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    attempted_at: datetime
    outcome: str
    status_code: int | None
    latency_ms: int
    error: str | None


class HandoverRead(BaseModel):
    id: uuid.UUID
    contact_id: uuid.UUID
    handover_type: str
    outcome: str
    message_id: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    attempt_log: list[AttemptRead]


class HandoverDecision(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    made_by: str
    made_at: datetime
    contact_type: str
    outcome: str
    level: int
    primary_need_code: str | None
    rationale: str
    next_steps: str | None
    status: str
    signed_off_by: str | None
    signed_off_at: datetime | None


class HandoverRecord(BaseModel):
    """The full record for the case system: the contact and the MASH's work on it."""

    handover_id: uuid.UUID
    handover_type: str
    contact_id: uuid.UUID
    contact_reference: str
    received_at: datetime
    channel: str
    kind: str
    level: int
    rag: str
    record: dict[str, Any]
    decision: HandoverDecision | None
    rag_history: list[RagRead]
    checks: list[CheckRead]
    strategy_discussions: list[DiscussionRead]
    notes: list[NoteRead]
