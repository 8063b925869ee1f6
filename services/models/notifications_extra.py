"""More tables owned by the `notifications` service (written only by it; others may read).

- `notif_council_terms`: the council's published term calendar, every school's default.
- `notif_council_contacts`: who the front door's alerts go to (the duty team manager).
- `notif_front_door_alerts`: one row per breach, due-soon warning or overdue written follow-up
  received from triage, waiting to be grouped into one email per recipient.
- `notif_alert_batches`: one row per recipient per sending window: the email that carried them.
- `notif_welfare_checks`: every welfare check recorded on a notification (history, never
  overwritten).
- `notif_corrections`: a police resend that corrected an existing notification.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.models.base import Base, created_at, uuid_pk
from services.models.notifications import IncidentSource

AlertAudience = Literal["duty_manager", "referrer"]
FrontDoorAlertKind = Literal["breached", "due_soon", "follow_up_overdue"]


class CouncilTerm(Base):
    """One term (or half term) of the council's published calendar: first and last day."""

    __tablename__ = "notif_council_terms"

    id: Mapped[uuid.UUID] = uuid_pk()
    council_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(100))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = created_at()

    __table_args__ = (
        UniqueConstraint("council_id", "start_date"),
        CheckConstraint("end_date >= start_date", name="ends_after_start"),
    )


class CouncilContacts(Base):
    """Where the front door's alerts go, per council (else the service's setting)."""

    __tablename__ = "notif_council_contacts"

    council_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    duty_manager_email: Mapped[str] = mapped_column(String(254))
    updated_at: Mapped[datetime] = created_at()


class AlertBatch(Base):
    """One email to one recipient for one sending window: the unique key makes it once."""

    __tablename__ = "notif_alert_batches"

    id: Mapped[uuid.UUID] = uuid_pk()
    recipient: Mapped[str] = mapped_column(String(254))
    window_start: Mapped[datetime]
    # Set in the same transaction as the batch row (the row comes first: it is the claim).
    delivery_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("notif_deliveries.id"))
    item_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = created_at()

    __table_args__ = (UniqueConstraint("recipient", "window_start"),)


class FrontDoorAlert(Base):
    """A breach, due-soon warning or overdue follow-up for someone to be told about."""

    __tablename__ = "notif_front_door_alerts"

    id: Mapped[uuid.UUID] = uuid_pk()
    # The triage event it came from: a replayed event adds nothing.
    event_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    council_id: Mapped[str] = mapped_column(String(64))
    audience: Mapped[AlertAudience] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(254))
    kind: Mapped[FrontDoorAlertKind] = mapped_column(String(24))
    clock_kind: Mapped[str | None] = mapped_column(String(32))
    contact_id: Mapped[uuid.UUID]
    contact_reference: Mapped[str | None] = mapped_column(String(20))
    deadline_at: Mapped[datetime | None]
    batch_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("notif_alert_batches.id"))
    created_at: Mapped[datetime] = created_at()

    __table_args__ = (
        Index(
            "ix_notif_front_door_alerts_pending",
            "recipient",
            "created_at",
            postgresql_where=text("batch_id IS NULL"),
        ),
    )


class WelfareCheck(Base):
    """One welfare check on a notification: when, by whom, its outcome, who recorded it."""

    __tablename__ = "notif_welfare_checks"

    id: Mapped[uuid.UUID] = uuid_pk()
    notification_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notif_notifications.id"), index=True
    )
    done_at: Mapped[datetime]
    done_by: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = created_at()


class NotificationCorrection(Base):
    """A resend of the same incident and child that changed what was recorded."""

    __tablename__ = "notif_corrections"

    id: Mapped[uuid.UUID] = uuid_pk()
    notification_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notif_notifications.id"), index=True
    )
    source: Mapped[IncidentSource] = mapped_column(String(16))
    changed_fields: Mapped[list[str]] = mapped_column(JSONB)
    # The values before the correction (this table is never sent anywhere).
    previous: Mapped[dict[str, Any]] = mapped_column(JSONB)
    school_told: Mapped[bool] = mapped_column(Boolean, default=False)
    corrected_at: Mapped[datetime] = created_at()


__all__ = [
    "AlertBatch",
    "CouncilContacts",
    "CouncilTerm",
    "FrontDoorAlert",
    "NotificationCorrection",
    "WelfareCheck",
]
