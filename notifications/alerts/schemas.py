"""Pydantic shapes of the schools' side (notifications, acknowledgement, welfare checks)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.types import SafeDatetime, SafeStr, SafeText

Status = Literal["pending", "delivered", "acknowledged", "welfare_checked", "escalated"]


class NotificationSummary(BaseModel):
    """Nothing identifying: ids, dates and states only."""

    id: uuid.UUID
    school_urn: str | None
    route: Literal["school", "ehe"]
    incident_date: date
    deadline_at: datetime | None
    in_holiday: bool
    status: Status
    delivered_at: datetime | None
    acknowledged_at: datetime | None
    welfare_check_at: datetime | None
    escalated_at: datetime | None
    created_at: datetime


class ChildDetail(BaseModel):
    """Only what the force's sharing configuration allows; absent fields are not shared."""

    given_name: str | None = None
    family_name: str | None = None
    date_of_birth: date | None = None
    present: bool | None = None
    spoken_to: bool | None = None
    child_voice: str | None = None


class WelfareCheckRead(BaseModel):
    """One welfare check: every check is kept (a second one never replaces the first)."""

    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    done_at: datetime
    done_by: str
    outcome: str
    recorded_by: str
    recorded_at: datetime


class CorrectionRead(BaseModel):
    """A police resend that corrected the notification: what changed and what it was before."""

    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    corrected_at: datetime
    source: str
    changed_fields: list[str]
    previous: dict[str, Any]
    school_told: bool


class NotificationDetail(NotificationSummary):
    incident_at: datetime
    police_force: str
    police_reference: str
    area: str | None = None
    circumstances: str | None = None
    adult_roles: list[str] | None = None
    child: ChildDetail
    acknowledged_by: str | None
    welfare_check_by: str | None
    welfare_check_outcome: str | None
    # Every welfare check, oldest first; the three fields above are the latest one.
    welfare_checks: list[WelfareCheckRead] = []
    reminder: str


class WelfareCheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    done_at: SafeDatetime
    done_by: SafeStr = Field(min_length=1, max_length=200)
    outcome: SafeText = Field(min_length=1, max_length=4000)


class AttemptRead(BaseModel):
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    outcome: str
    error: str | None
    response_excerpt: str | None


class DeliveryRead(BaseModel):
    id: uuid.UUID
    channel: str
    kind: str
    endpoint_id: uuid.UUID | None
    webhook_id: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_error: str | None
    attempt_log: list[AttemptRead]


class ResendResult(BaseModel):
    requeued: int
    queued_new: int


class SchoolReportRow(BaseModel):
    school_urn: str
    school_name: str
    open_notifications: int
    unacknowledged: int
    overdue_unacknowledged: int
    escalated: int
    awaiting_welfare_check: int
    oldest_unacknowledged_deadline: datetime | None
