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


class PopulationRate(BaseModel):
    """Referrals per 10,000 children living in the area (a context measure: no target)."""

    referrals: int
    child_population: int
    period_days: float
    per_10000_children: float
    # The period's rate scaled to a year, comparable with the published annual figures.
    per_10000_children_annualised: float


class Scorecard(BaseModel):
    generated_at: datetime
    period_from: datetime
    period_to: datetime
    contacts_by_type: dict[str, int]
    kpis: list[Kpi]
    # None when the council has not configured its child population.
    referrals_per_10000_children: PopulationRate | None = None
