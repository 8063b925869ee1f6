"""Bodies of the managers' reports (in progress, unallocated, KPIs), the scorecard, the census
return's validation, the assessment factors, a child's disability codes and the closure of a
child's episode."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from triage.reports.census import (
    CLOSURE_REASONS,
    DISABILITY_CODES,
    FACTOR_CODES,
    NO_DISABILITY,
    NO_FACTORS,
)
from triage.reports.indicators import Direction, Polarity, Rating


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


class ReportTallies(BaseModel):
    """Counts over every contact a report matches (SQL COUNTs, not only its listed rows)."""

    count: int
    breached: int
    due_soon: int
    unallocated: int
    by_lane: dict[str, int]
    by_rag: dict[str, int]


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


class PeriodRead(BaseModel):
    first_day: date
    last_day: date
    start: datetime
    end: datetime
    days: int


class PreviousValue(BaseModel):
    numerator: int
    denominator: int
    value: float | None


class IndicatorRead(BaseModel):
    name: str
    # The decided contact type it is measured over ("undecided": contacts still open past a
    # timeliness deadline, one row per lane); None for whole-front-door measures.
    contact_type: str | None
    # Only for contact type "undecided": the lane the open contacts are in (never mixed).
    lane: str | None = None
    meaning: str
    numerator: int
    denominator: int
    value: float | None
    target: float
    polarity: Polarity
    on_target: bool | None
    previous: PreviousValue
    direction: Direction
    rating: Rating


class ContactCounts(BaseModel):
    # Decided contacts by their decided type; undecided ones by lane (never lumped together).
    decided_by_type: dict[str, int]
    undecided_by_lane: dict[str, int]


class CountRow(BaseModel):
    group: str
    name: str
    count: int
    previous_count: int


class NfaReason(BaseModel):
    contact_type: str
    reason: str
    count: int


class EncompassCounts(BaseModel):
    notifications: int
    to_schools: int
    # Children with no known school or electively home educated: the council's EHE officer.
    to_ehe_officer: int


class ScorecardReport(BaseModel):
    generated_at: datetime
    period: PeriodRead
    previous_period: PeriodRead
    contacts: ContactCounts
    previous_contacts: ContactCounts
    indicators: list[IndicatorRead]
    # group = decided contact type, name = outcome.
    outcomes: list[CountRow]
    nfa_reasons: list[NfaReason]
    # group = DASH risk level, name = outcome (or "undecided").
    dv_notifications: list[CountRow]
    encompass: EncompassCounts
    previous_encompass: EncompassCounts
    referrals_per_10000_children: PopulationRate | None
    previous_referrals_per_10000_children: PopulationRate | None
    # A context measure, neither higher nor lower better: `higher`, `lower`, `unchanged`, or
    # `not_comparable` (no child population configured).
    referrals_per_10000_children_direction: Direction
    # Measures this scorecard does not carry yet, and why.
    not_included: list[str]


FactorCode = Annotated[str, Field(min_length=1, max_length=4)]


class AssessmentFactorsWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    factors: Annotated[list[FactorCode], Field(min_length=1, max_length=40)]
    # The child the factors are for (their number on the contact, as in the census return);
    # absent: every child on the contact without factors of their own.
    child: Annotated[int | None, Field(ge=1, le=50)] = None

    @field_validator("factors")
    @classmethod
    def _census_codes(cls, value: list[str]) -> list[str]:
        codes = [v.upper() for v in value]
        unknown = sorted(set(codes) - FACTOR_CODES)
        if unknown:
            raise ValueError(f"not CIN census assessment factor codes: {', '.join(unknown)}")
        if NO_FACTORS in codes and len(set(codes)) > 1:
            raise ValueError("21 (no factors identified) cannot be given with other factors")
        return sorted(set(codes), key=codes.index)


class AssessmentFactorsRead(BaseModel):
    contact_id: str
    # None: the factors of every child on the contact without factors of their own.
    child: int | None
    factors: list[str]
    recorded_by: str
    recorded_at: datetime


DisabilityCode = Annotated[str, Field(min_length=1, max_length=4)]


class ChildDisabilitiesWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # The child the codes are for: their number on the contact (1-based, as in the census
    # return). Required: a child's disabilities are their own, never a sibling group's.
    child: Annotated[int, Field(ge=1, le=50)]
    # CIN census disability codes; ["NONE"]: the child has no disability.
    disabilities: Annotated[list[DisabilityCode], Field(min_length=1, max_length=13)]

    @field_validator("disabilities")
    @classmethod
    def _census_codes(cls, value: list[str]) -> list[str]:
        codes = [v.upper() for v in value]
        unknown = sorted(set(codes) - DISABILITY_CODES)
        if unknown:
            raise ValueError(f"not CIN census disability codes: {', '.join(unknown)}")
        repeated = sorted({c for c in codes if codes.count(c) > 1})
        if repeated:
            raise ValueError(f"a code given more than once: {', '.join(repeated)}")
        if NO_DISABILITY in codes and len(codes) > 1:
            raise ValueError("NONE (no disability) cannot be given with other codes")
        return codes


class ChildDisabilitiesRead(BaseModel):
    contact_id: str
    child: int
    disabilities: list[str]
    recorded_by: str
    recorded_at: datetime


class ChildClosureWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # The child whose episode this referral opened: their number on the contact (1-based, as
    # in the census return). Required: an episode is a child's own.
    child: Annotated[int, Field(ge=1, le=50)]
    # CINclosureDate: the day the episode closed (the council's local date), on or after the
    # referral's date and not after today.
    closed_on: date
    # ReasonForClosure: a CIN census code, RC1 .. RC9 (lower case accepted).
    reason: Annotated[str, Field(min_length=1, max_length=16)]

    @field_validator("reason")
    @classmethod
    def _census_reason(cls, value: str) -> str:
        code = value.upper()
        if code not in CLOSURE_REASONS:
            raise ValueError(f"not a CIN census reason for closure (RC1 .. RC9): {value}")
        return code


class ChildClosureRead(BaseModel):
    contact_id: str
    child: int
    closed_on: date
    reason: str
    recorded_by: str
    recorded_at: datetime


class CensusFailureRead(BaseModel):
    rule: str
    message: str
    # The child's record: contact reference and the child's position on it (no names).
    contact_reference: str
    child: int | None
    field: str


class CensusValidation(BaseModel):
    year: int
    collection_start: date
    collection_end: date
    referrals_checked: int
    valid: bool
    failures: list[CensusFailureRead]


ExportFormat = Literal["csv", "xml"]
