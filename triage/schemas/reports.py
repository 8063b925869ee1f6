"""Bodies of the managers' reports."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel


class InProgressRow(BaseModel):
    id: uuid.UUID
    reference: str
    lane: str
    status: str
    rag: str
    received_at: datetime
    age_hours: float
    deadline_at: datetime
    breached: bool
    assigned_to: str | None


class InProgressReport(BaseModel):
    generated_at: datetime
    count: int
    rows: list[InProgressRow]


class Kpi(BaseModel):
    name: str
    contact_type: str | None
    numerator: int
    denominator: int
    value: float | None
    target: float
    polarity: Literal["higher_is_better", "lower_is_better"]
    on_target: bool | None


class Scorecard(BaseModel):
    generated_at: datetime
    period_from: datetime
    period_to: datetime
    contacts_by_type: dict[str, int]
    kpis: list[Kpi]
