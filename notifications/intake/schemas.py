"""Pydantic shapes of Operation Encompass intake (the police feed) and sharing configuration."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.errors import FieldError
from services.types import SafeDate, SafeDatetime, SafeStr, SafeText

EducationStatus = Literal["on_roll", "ehe", "cme", "unknown"]


class ChildIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    given_name: SafeStr = Field(min_length=1, max_length=100)
    family_name: SafeStr = Field(min_length=1, max_length=100)
    date_of_birth: SafeDate | None = None
    school_urn: str | None = Field(None, pattern=r"^\d{6,7}$")
    education_status: EducationStatus | None = None
    present: bool | None = None
    spoken_to: bool | None = None
    child_voice: SafeText | None = Field(None, max_length=2000)

    @field_validator("date_of_birth")
    @classmethod
    def _not_in_future(cls, value: date | None) -> date | None:
        if value is not None and value > date.today():
            raise ValueError("a date of birth cannot be in the future")
        return value


class IncidentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    police_reference: str = Field(
        min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9 /_.:-]*$"
    )
    incident_at: SafeDatetime
    area: SafeStr | None = Field(None, max_length=100)
    children: list[ChildIn] = Field(min_length=1, max_length=20)
    adult_roles: list[Annotated[SafeStr, Field(min_length=1, max_length=100)]] = Field(
        default=[], max_length=10
    )
    circumstances: SafeText | None = Field(None, max_length=2000)


class BatchIn(BaseModel):
    """The morning feed. Items are checked one by one: a bad item does not stop the rest."""

    model_config = ConfigDict(extra="forbid")
    incidents: list[Any] = Field(min_length=1, max_length=2000)


# corrected: the same child as an earlier notification of this incident, with changes.
ChildStatus = Literal["created", "duplicate", "corrected"]


class ChildResult(BaseModel):
    index: int
    status: ChildStatus
    notification_id: uuid.UUID
    route: Literal["school", "ehe"]
    ehe_reason: str | None = None


class IncidentResult(BaseModel):
    index: int = 0
    police_reference: str | None
    # corrected: nothing new, but a resend that corrected what was recorded.
    status: Literal["accepted", "duplicate", "corrected", "rejected"]
    incident_id: uuid.UUID | None = None
    children: list[ChildResult] = []
    errors: list[FieldError] = []


class BatchResult(BaseModel):
    accepted: int
    duplicates: int
    rejected: int
    corrected: int = 0
    items: list[IncidentResult]


class SharingConfig(BaseModel):
    """What this force lets schools see in the authenticated detail view."""

    model_config = ConfigDict(extra="forbid")
    share_name: bool = True
    share_date_of_birth: bool = False
    share_present: bool = True
    share_spoken_to: bool = False
    share_child_voice: bool = False
    share_circumstances: bool = False


class SharingRead(SharingConfig):
    force_id: str
    updated_at: datetime | None = None


class EheTaskRead(BaseModel):
    id: uuid.UUID
    notification_id: uuid.UUID
    reason: str
    status: str
    created_at: datetime
