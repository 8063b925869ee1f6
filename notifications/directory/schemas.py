"""Pydantic shapes of the school directory API."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, model_validator

from services.identifiers import check_postcode
from services.types import LocalTime, SafeDate, SafeDatetime, SafeStr
from services.webhooks.ssrf import UnsafeUrl, check_url_shape

DeliveryPreference = Literal["webhook", "email", "both"]
URN_PATTERN = r"^\d{6,7}$"
Urn = Annotated[str, Field(pattern=URN_PATTERN, examples=["107301"])]


def _postcode(value: str | None) -> str | None:
    if value is None:
        return None
    return check_postcode(value)


Postcode = Annotated[str | None, AfterValidator(_postcode)]


def _plain_url(value: str) -> str:
    """A plain absolute http(s) URL (https in production is checked with the addresses)."""
    try:
        check_url_shape(value, require_https=False)
    except UnsafeUrl as exc:
        raise ValueError(str(exc)) from exc
    return value


WebhookUrl = Annotated[
    str,
    Field(min_length=8, max_length=2000, examples=["https://school.example/hooks"]),
    AfterValidator(_plain_url),
]


class Term(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: SafeDate
    end: SafeDate

    @model_validator(mode="after")
    def _ordered(self) -> Term:
        if self.end < self.start:
            raise ValueError("a term ends on or after its start")
        return self


class SchoolFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: SafeStr | None = Field(None, min_length=1, max_length=200)
    phase: SafeStr | None = Field(None, max_length=64)
    postcode: Postcode = None
    school_day_start: LocalTime | None = None
    terms: list[Term] | None = Field(None, max_length=20)
    closure_days: list[SafeDate] | None = Field(None, max_length=100)
    dsl_email: EmailStr | None = None
    deputy_email: EmailStr | None = None
    delivery_preference: DeliveryPreference | None = None


class SchoolCreate(SchoolFields):
    urn: Urn
    name: SafeStr = Field(min_length=1, max_length=200)
    school_day_start: LocalTime = time(8, 30)
    # A new school's calendar lists are lists: `null` is refused (422), not stored.
    terms: list[Term] = Field(default_factory=list, max_length=20)
    closure_days: list[SafeDate] = Field(default_factory=list, max_length=100)
    delivery_preference: DeliveryPreference = "both"


class SchoolUpdate(SchoolFields):
    """Only the fields sent are changed. A DSL may change `dsl_email` and `deputy_email`."""


class SchoolRead(BaseModel):
    urn: str
    name: str
    phase: str | None
    postcode: str | None
    school_day_start: LocalTime
    terms: list[Term]
    closure_days: list[date]
    dsl_email: str | None
    deputy_email: str | None
    delivery_preference: DeliveryPreference


class ImportRowResult(BaseModel):
    row: int
    urn: str | None
    status: Literal["created", "updated", "rejected", "skipped"]
    reasons: list[str] = []


class ImportResult(BaseModel):
    created: int
    updated: int
    rejected: int
    skipped: int
    rows: list[ImportRowResult]


EventType = Literal["encompass.notification.created", "encompass.ping"]
NOTIFICATION_CREATED_TYPE: EventType = "encompass.notification.created"


class EndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: WebhookUrl
    event_types: list[EventType] = Field(
        default_factory=lambda: [NOTIFICATION_CREATED_TYPE], min_length=1
    )
    description: SafeStr | None = Field(None, max_length=200)


class EndpointUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: WebhookUrl | None = None
    event_types: list[EventType] | None = Field(None, min_length=1)
    description: SafeStr | None = Field(None, max_length=200)
    enabled: bool | None = None
    disabled_reason: SafeStr | None = Field(None, max_length=200)


class EndpointRead(BaseModel):
    id: uuid.UUID
    school_urn: str
    url: str
    event_types: list[str]
    description: str | None
    enabled: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    consecutive_failures: int
    failing_since: datetime | None
    rotation_overlap_until: datetime | None
    created_at: datetime


class EndpointWithSecret(EndpointRead):
    """Returned once, at creation or rotation: store the secret now, it is not shown again."""

    secret: str


class RotateSecret(BaseModel):
    model_config = ConfigDict(extra="forbid")
    overlap_hours: int = Field(24, ge=0, le=168)


class PingResult(BaseModel):
    success: bool
    status_code: int | None
    latency_ms: int
    error: str | None
    webhook_id: str


class RecoverRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: SafeDatetime


class RecoverResult(BaseModel):
    requeued: int
