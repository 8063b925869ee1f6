"""Bodies of the partner check endpoints."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Short = Annotated[str, Field(min_length=1, max_length=200)]
Long = Annotated[str, Field(min_length=1, max_length=8000)]
CheckStatus = Literal["requested", "answered", "declined", "nothing_held"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ChecksRequest(_In):
    agencies: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=64)]], Field(min_length=1, max_length=20)
    ]


class CheckResponse(_In):
    """What the agency's systems hold (`answered`), `nothing_held`, or `declined` with a
    reason. Which fields each outcome needs is checked below the router (422 per field)."""

    outcome: Literal["answered", "nothing_held", "declined"]
    known: bool | None = None
    summary: Long | None = None
    risk_indicators: Annotated[list[Short], Field(max_length=50)] = []
    latest_involvement_on: date | None = None
    researched_by: Short | None = None
    declined_reason: Long | None = None


class CheckRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    contact_id: uuid.UUID
    agency_id: str
    agency_name: str
    requested_by: str
    requested_at: datetime
    due_at: datetime
    status: CheckStatus
    overdue: bool
    answered_late: bool
    known: bool | None
    summary: str | None
    risk_indicators: list[str]
    latest_involvement_on: date | None
    researched_by: str | None
    declined_reason: str | None
    responded_by: str | None
    responded_at: datetime | None


class AgencyOverdue(BaseModel):
    agency_id: str
    open: int
    overdue: int
    answered_late: int


class ChecksReport(BaseModel):
    council_id: str
    at: datetime
    open: int
    overdue: int
    answered_late: int
    by_agency: list[AgencyOverdue]
