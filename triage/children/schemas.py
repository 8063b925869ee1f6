"""Bodies of the child's record, flag and search endpoints."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

FlagName = Literal[
    "cse", "cce", "missing", "cp_plan", "looked_after", "placed_by_other_la", "disability"
]
RiskLevel = Literal["high", "medium", "low"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class FlagChange(_In):
    flag: FlagName
    active: bool
    risk_level: RiskLevel | None = None
    # Placed here by another local authority: which one (they often fail to tell the host).
    placing_authority: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    reason: Annotated[str, Field(min_length=1, max_length=4000)]


class FlagRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    flag: FlagName
    active: bool
    risk_level: RiskLevel | None
    placing_authority: str | None
    reason: str
    set_by: str
    set_at: datetime
    previous: dict[str, Any] | None


class LinkRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    child_id: uuid.UUID
    contact_id: uuid.UUID
    subject_position: int
    matched_on: list[str]
    state: Literal["new", "matched", "confirmed"]
    decided_by: str | None
    decided_at: datetime | None


class ChildContact(BaseModel):
    contact_id: uuid.UUID
    reference: str
    received_at: datetime
    status: str
    outcome: str | None
    link_state: str


class ChildRead(BaseModel):
    id: uuid.UUID
    display_name: str
    date_of_birth: date | None
    nhs_number: str | None
    upn: str | None
    postcode: str | None
    restricted: bool
    active_flags: list[str]
    flags: list[FlagRead]
    flag_history: list[FlagRead]
    contacts: list[ChildContact]


class ChildHit(BaseModel):
    id: uuid.UUID
    display_name: str
    date_of_birth: date | None
    postcode: str | None
    active_flags: list[str]
    contacts: list[ChildContact]


class Restriction(_In):
    restricted: bool
    # Who may still see the child (their `sub`); the caller is always added.
    named: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=200)]], Field(max_length=50)
    ] = []
