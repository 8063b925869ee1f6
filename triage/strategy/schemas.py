"""Bodies of the strategy discussion endpoints."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Short = Annotated[str, Field(min_length=1, max_length=200)]
Long = Annotated[str, Field(min_length=1, max_length=20000)]
StrategyDecision = Literal["single_agency_s47", "joint_agency_s47", "icpc", "nfa"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Participant(_In):
    name: Short
    role: Short
    agency: Short


class ActionCreate(_In):
    description: Annotated[str, Field(min_length=1, max_length=2000)]
    owner: Short
    due_on: date


class DiscussionCreate(_In):
    held_at: AwareDatetime
    # Required, never defaulted: an out-of-hours police/EDT call must say whether it was one.
    formal: bool
    not_formal_reason: Annotated[str, Field(min_length=1, max_length=2000)] | None = None
    participants: Annotated[list[Participant], Field(min_length=1, max_length=50)]
    information_shared: Long
    decision: StrategyDecision
    decision_reason: Annotated[str, Field(min_length=1, max_length=4000)] | None = None
    actions: Annotated[list[ActionCreate], Field(max_length=50)] = []


class ActionDone(_In):
    done_on: date


class ActionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    position: int
    description: str
    owner: str
    due_on: date
    done_on: date | None
    overdue: bool = False


class DiscussionRead(BaseModel):
    id: uuid.UUID
    contact_id: uuid.UUID
    held_at: datetime
    formal: bool
    not_formal_reason: str | None
    participants: list[Participant]
    information_shared: str
    decision: StrategyDecision
    decision_reason: str | None
    recorded_by: str
    recorded_at: datetime
    icpc_due_at: datetime | None
    actions: list[ActionRead]


class SummaryChild(BaseModel):
    name: str
    age: int | None


class DiscussionSummary(BaseModel):
    """What the attendees may be sent: what was said and agreed in the discussion, no more
    (no partner check detail, no case notes, no identifiers beyond the contact reference)."""

    title: str
    contact_reference: str
    children: list[SummaryChild]
    held_at_local: str
    formal: bool
    not_formal_reason: str | None
    participants: list[Participant]
    information_shared: str
    decision: StrategyDecision
    decision_label: str
    decision_reason: str | None
    icpc_due_local: str | None
    actions: list[ActionRead]
