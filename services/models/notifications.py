"""Tables owned by the `notifications` service (written only by it; others may read).

`notif_schools` and `notif_endpoints` are the school directory; `notif_force_sharing` is what
each police force shares with each council's schools; `notif_incidents` and
`notif_notifications` are Operation Encompass intake (one notification per child per school);
`notif_deliveries` are the queued
webhook and email messages with their retry times, `notif_attempts` the evidence of every try;
`notif_ehe_tasks` are the front door's tasks for children with no known school.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Literal

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.models.base import Base, created_at, uuid_pk

# The values each status-like column holds. The columns stay VARCHAR (no database enum, so a
# new value needs no migration); these types are what mypy holds the code to.
DeliveryPreference = Literal["webhook", "email", "both"]
IncidentSource = Literal["batch", "single", "triage"]
Route = Literal["school", "ehe"]
EducationStatus = Literal["on_roll", "ehe", "cme", "unknown"]
Channel = Literal["webhook", "email"]
DeliveryKind = Literal[
    "alert",  # the notification's webhook or email
    "fallback",  # the alert email sent because no webhook landed in time
    "correction",  # the police corrected what the school sees
    "digest",  # the first-day-back list after a holiday
    "ehe",  # to the council's EHE contact
    "escalation",  # to the front-door duty manager
    "admin_alert",  # an endpoint was disabled
    "ping",  # a test ping (sent at once, kept as evidence)
    "front_door_alert",  # triage's breaches and warnings, grouped
    "referrer_chase",  # an overdue written follow-up, to the referrer
]
DeliveryStatus = Literal["pending", "delivered", "failed", "abandoned"]
# sending: the request may be out, no answer yet; interrupted: the sending worker stopped
# before recording an answer; the rest are answers (see delivery.transport).
AttemptOutcome = Literal["sending", "delivered", "failed", "refused", "gone", "interrupted"]
EheReason = Literal["no_school", "unknown_school", "ehe"]
EheTaskStatus = Literal["open", "closed"]


def _updated_at() -> Mapped[datetime]:
    return mapped_column(server_default=func.now())


class School(Base):
    """A school in the directory (keyed by its national URN), its DSL contacts and calendar."""

    __tablename__ = "notif_schools"

    urn: Mapped[str] = mapped_column(String(8), primary_key=True)
    council_id: Mapped[str] = mapped_column(String(64), default="demo")
    name: Mapped[str] = mapped_column(String(200))
    phase: Mapped[str | None] = mapped_column(String(64))
    postcode: Mapped[str | None] = mapped_column(String(10))
    school_day_start: Mapped[time] = mapped_column(Time, default=time(8, 30))
    # [{"start": "2026-09-03", "end": "2026-12-18"}, ...]; empty = every working day.
    terms: Mapped[list[dict[str, str]]] = mapped_column(JSONB, default=list)
    closure_days: Mapped[list[str]] = mapped_column(JSONB, default=list)
    dsl_email: Mapped[str | None] = mapped_column(String(254))
    deputy_email: Mapped[str | None] = mapped_column(String(254))
    delivery_preference: Mapped[DeliveryPreference] = mapped_column(String(8), default="both")
    # The preference before the last endpoint was disabled switched the school to email: put
    # back when an endpoint is enabled again (None: the school chose its preference itself).
    preference_before_fallback: Mapped[DeliveryPreference | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = _updated_at()


class Endpoint(Base):
    """A school's webhook endpoint. Secrets are stored encrypted (AES-GCM, key from settings)."""

    __tablename__ = "notif_endpoints"

    id: Mapped[uuid.UUID] = uuid_pk()
    school_urn: Mapped[str] = mapped_column(ForeignKey("notif_schools.urn"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[str]] = mapped_column(JSONB)
    description: Mapped[str | None] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    disabled_at: Mapped[datetime | None]
    secret_encrypted: Mapped[str] = mapped_column(Text)
    previous_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    previous_secret_expires_at: Mapped[datetime | None]
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    failing_since: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()


class ForceSharing(Base):
    """What one police force lets one council's schools see in the authenticated detail view
    (each council configures its own: one row per council and force)."""

    __tablename__ = "notif_force_sharing"

    council_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    force_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    share_name: Mapped[bool] = mapped_column(Boolean, default=True)
    share_date_of_birth: Mapped[bool] = mapped_column(Boolean, default=False)
    share_present: Mapped[bool] = mapped_column(Boolean, default=True)
    share_spoken_to: Mapped[bool] = mapped_column(Boolean, default=False)
    share_child_voice: Mapped[bool] = mapped_column(Boolean, default=False)
    share_circumstances: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = _updated_at()


class Incident(Base):
    """A police-attended domestic-abuse incident (one per force + police reference)."""

    __tablename__ = "notif_incidents"

    id: Mapped[uuid.UUID] = uuid_pk()
    council_id: Mapped[str] = mapped_column(String(64))
    force_id: Mapped[str] = mapped_column(String(64))
    police_reference: Mapped[str] = mapped_column(String(64))
    incident_at: Mapped[datetime]
    area: Mapped[str | None] = mapped_column(String(100))
    adult_roles: Mapped[list[str]] = mapped_column(JSONB, default=list)
    circumstances: Mapped[str | None] = mapped_column(Text)
    source: Mapped[IncidentSource] = mapped_column(String(16))
    contact_id: Mapped[uuid.UUID | None]
    received_at: Mapped[datetime] = created_at()

    __table_args__ = (UniqueConstraint("force_id", "police_reference"),)


class Notification(Base):
    """One child's Operation Encompass notification to one school (or to the EHE contact)."""

    __tablename__ = "notif_notifications"

    id: Mapped[uuid.UUID] = uuid_pk()
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("notif_incidents.id"))
    # sha256 of the normalised name + date of birth: the idempotency key within an incident.
    child_key: Mapped[str] = mapped_column(String(64))
    school_urn: Mapped[str | None] = mapped_column(ForeignKey("notif_schools.urn"), index=True)
    route: Mapped[Route] = mapped_column(String(16))
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    date_of_birth: Mapped[date | None]
    education_status: Mapped[EducationStatus | None] = mapped_column(String(16))
    present: Mapped[bool | None]
    spoken_to: Mapped[bool | None]
    child_voice: Mapped[str | None] = mapped_column(Text)
    deadline_at: Mapped[datetime | None]
    in_holiday: Mapped[bool] = mapped_column(Boolean, default=False)
    delivered_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    welfare_check_at: Mapped[datetime | None]
    welfare_check_by: Mapped[str | None] = mapped_column(String(200))
    welfare_check_outcome: Mapped[str | None] = mapped_column(Text)
    fallback_email_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    digest_sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()

    __table_args__ = (
        UniqueConstraint("incident_id", "child_key"),
        Index(
            "ix_notif_notifications_open",
            "deadline_at",
            postgresql_where=text("acknowledged_at IS NULL"),
        ),
    )


class Delivery(Base):
    """One message on one channel (a webhook to an endpoint, or an email) and its retry state."""

    __tablename__ = "notif_deliveries"

    id: Mapped[uuid.UUID] = uuid_pk()
    notification_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("notif_notifications.id"), index=True
    )
    school_urn: Mapped[str | None] = mapped_column(String(8))
    channel: Mapped[Channel] = mapped_column(String(8))
    kind: Mapped[DeliveryKind] = mapped_column(String(16))
    endpoint_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("notif_endpoints.id"), index=True
    )
    message_id: Mapped[str] = mapped_column(String(64))
    recipients: Mapped[list[str]] = mapped_column(JSONB, default=list)
    subject: Mapped[str | None] = mapped_column(String(200))
    # The exact body to send: the thin webhook JSON, or the email's text (nothing identifying).
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(server_default=text("now()"))
    fallback_at: Mapped[datetime | None]
    deadline_at: Mapped[datetime | None]
    give_up_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(200))
    delivered_at: Mapped[datetime | None]
    # The liveness key of the worker sending it now (notifications.delivery.leases), if any.
    leased_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = created_at()

    __table_args__ = (
        Index(
            "ix_notif_deliveries_leased",
            "leased_by",
            postgresql_where=text("leased_by IS NOT NULL"),
        ),
        Index(
            "ix_notif_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
    )


class Attempt(Base):
    """Evidence of one delivery attempt: when, the answer, how long, the start of the reply."""

    __tablename__ = "notif_attempts"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("notif_deliveries.id"), index=True)
    attempted_at: Mapped[datetime]
    status_code: Mapped[int | None]
    latency_ms: Mapped[int]
    outcome: Mapped[AttemptOutcome] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(String(200))
    response_excerpt: Mapped[str | None] = mapped_column(String(500))


class EheTask(Base):
    """A task for the front door: a child with no known school, or electively home educated."""

    __tablename__ = "notif_ehe_tasks"

    id: Mapped[uuid.UUID] = uuid_pk()
    notification_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notif_notifications.id"), unique=True
    )
    council_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[EheReason] = mapped_column(String(16))
    status: Mapped[EheTaskStatus] = mapped_column(String(12), default="open")
    created_at: Mapped[datetime] = created_at()


__all__ = [
    "Attempt",
    "Delivery",
    "EheTask",
    "Endpoint",
    "ForceSharing",
    "Incident",
    "Notification",
    "School",
]
