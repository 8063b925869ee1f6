"""Tables of the triage service's management information (written only by triage).

- `triage_assessment_factors`: the CIN census factors identified at the end of the
  assessment that followed a contact, per child (the census return reads them): child 0 holds
  the factors for every child on the contact without factors of their own.
- `triage_child_disabilities`: the CIN census disability codes of a child on a contact (by
  the child's number on it), recorded by a worker (the census return reads them).
- `triage_child_closures`: the closure of a child's CIN episode that a contact (a referral)
  opened: the date and the census reason for closure, recorded by a worker (the census
  return reads them: rules 8815, 8820).
- `triage_report_sends`: one row per scheduled report slot per council, claimed before the
  email goes, so a slot is sent at most once and a missed one is caught up once.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.models.base import Base, created_at, uuid_pk

# sending (claimed) | sent | failed (refused: retried) | unconfirmed (no reply: never retried)
# | given_up (failed past the retry limit) | skipped (no recipients configured: never retried)
ReportSendStatus = Literal["sending", "sent", "failed", "unconfirmed", "given_up", "skipped"]


class TriageAssessmentFactors(Base):
    __tablename__ = "triage_assessment_factors"

    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("triage_contacts.id", ondelete="CASCADE"), primary_key=True
    )
    # The child's number on the contact (1-based, as the census return numbers them), or 0:
    # every child on the contact without a row of their own.
    child: Mapped[int] = mapped_column(SmallInteger, primary_key=True, server_default="0")
    # CIN census assessment factor codes, e.g. ["3A", "16A"]; ["21"] means no factors.
    factors: Mapped[list[str]] = mapped_column(JSONB)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime]


class TriageChildDisabilities(Base):
    __tablename__ = "triage_child_disabilities"

    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("triage_contacts.id", ondelete="CASCADE"), primary_key=True
    )
    # The child's number on the contact (1-based, as the census return numbers them): a
    # child's disabilities are their own, so there is no row for the whole contact.
    child: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    # CIN census disability codes, e.g. ["AUT", "HEAR"]; ["NONE"] means no disability.
    disabilities: Mapped[list[str]] = mapped_column(JSONB)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime]

    __table_args__ = (CheckConstraint("child >= 1", name="child_numbered"),)


class TriageChildClosure(Base):
    __tablename__ = "triage_child_closures"

    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("triage_contacts.id", ondelete="CASCADE"), primary_key=True
    )
    # The child's number on the contact (1-based, as the census return numbers them): an
    # episode is a child's, so there is no row for the whole contact.
    child: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    # CINclosureDate: the day (the council's local date) the child's episode was closed.
    closed_on: Mapped[date] = mapped_column(Date)
    # ReasonForClosure: a CIN census code, RC1 .. RC9.
    reason: Mapped[str] = mapped_column(String(3))
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("child >= 1", name="child_numbered"),
        CheckConstraint(
            "reason IN ('RC1', 'RC2', 'RC3', 'RC4', 'RC5', 'RC6', 'RC7', 'RC8', 'RC9')",
            name="census_reason",
        ),
    )


class TriageReportSend(Base):
    __tablename__ = "triage_report_sends"

    id: Mapped[uuid.UUID] = uuid_pk()
    council_id: Mapped[str] = mapped_column(String(64))
    report: Mapped[str] = mapped_column(String(32))  # in_progress | unallocated
    # The scheduled time this sending is for (UTC), whatever time it actually went.
    slot_at: Mapped[datetime]
    # sending (claimed) | sent | failed (the SMTP server refused it: retried)
    # | unconfirmed (no reply came: it may have gone, so never retried)
    status: Mapped[ReportSendStatus] = mapped_column(String(12), default="sending")
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at()

    __table_args__ = (UniqueConstraint("council_id", "report", "slot_at"),)


__all__ = [
    "TriageAssessmentFactors",
    "TriageChildClosure",
    "TriageChildDisabilities",
    "TriageReportSend",
]
