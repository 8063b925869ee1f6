"""Tables owned by the `referral_api` service (written only by it; others may read).

- `referral_referrals`: one row per accepted MARF, with the referrer-visible status that
  follows the triage service's events (never its tables).
- `referral_addenda`: more information sent after submission; append-only.
- `referral_idempotency_keys`: `Idempotency-Key` requests per agency, with the request's hash
  and the response to replay; purged after the retention period.
- `referral_reference_seq`: the sequence behind the human references (`FD-2026-000123`), so
  concurrent intakes never queue on a counter row.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Sequence,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.models.base import Base, created_at, uuid_pk

# A referral's referrer-visible status. A VARCHAR with a CHECK constraint (not a database
# enum), so a new status is a constraint change, not an enum migration.
ReferralStatus = Literal["received", "in_triage", "decided"]
REFERRAL_STATUSES: tuple[str, ...] = get_args(ReferralStatus)
_STATUS_LIST = ", ".join(f"'{status}'" for status in REFERRAL_STATUSES)

REFERENCE_SEQUENCE = Sequence("referral_reference_seq", metadata=Base.metadata)

REFERRAL_STATUSES = ("received", "in_triage", "decided")


class Referral(Base):
    """An accepted MARF and what the referrer may see of its progress."""

    __tablename__ = "referral_referrals"

    id: Mapped[uuid.UUID] = uuid_pk()
    reference: Mapped[str] = mapped_column(String(24), unique=True)
    council_id: Mapped[str] = mapped_column(String(64))
    agency_id: Mapped[str] = mapped_column(String(64))
    submitted_by: Mapped[str] = mapped_column(String(200))
    # Receipt: the server clock, or the original call time for a phone follow-up.
    received_at: Mapped[datetime]
    submitted_at: Mapped[datetime]
    decision_due_at: Mapped[datetime]
    phone_call_at: Mapped[datetime | None]
    phone_contact_reference: Mapped[str | None] = mapped_column(String(40))
    written_follow_up_due_at: Mapped[datetime | None]
    request_type: Mapped[str] = mapped_column(String(48))
    immediate_risk: Mapped[bool]
    subject_count: Mapped[int] = mapped_column(SmallInteger)
    child_voice_missing: Mapped[bool]
    marf: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # The 201 body exactly as sent: what the referrer was told, and what a replay returns.
    receipt: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # Referrer-visible progress, from contact.triaged / contact.decided / feedback_given.
    status: Mapped[ReferralStatus] = mapped_column(String(16), default="received")
    status_changed_at: Mapped[datetime]
    contact_id: Mapped[uuid.UUID | None]
    contact_reference: Mapped[str | None] = mapped_column(String(40))
    triaged_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(48))
    outcome_summary: Mapped[str | None] = mapped_column(Text)
    next_steps: Mapped[str | None] = mapped_column(Text)
    feedback: Mapped[str | None] = mapped_column(Text)
    feedback_next_steps: Mapped[str | None] = mapped_column(Text)
    feedback_given_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(f"status IN ({_STATUS_LIST})", name="status_known"),
        # The agency's own list, newest first, keyset-paginated on (received_at, id).
        Index("ix_referral_referrals_agency_received", "agency_id", "received_at", "id"),
    )


class ReferralAddendum(Base):
    """More information about a submitted referral; never edited or deleted."""

    __tablename__ = "referral_addenda"

    id: Mapped[uuid.UUID] = uuid_pk()
    referral_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("referral_referrals.id", ondelete="RESTRICT"), index=True
    )
    added_at: Mapped[datetime]
    added_by: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)


class IdempotencyKey(Base):
    """One `Idempotency-Key` per agency: the request's hash and what it made — a referral
    (whose stored receipt is the response a replay returns) or an addendum to one."""

    __tablename__ = "referral_idempotency_keys"

    agency_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    # Claimed before the referral row exists (same transaction): checked at commit.
    referral_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(
            "referral_referrals.id", ondelete="CASCADE", deferrable=True, initially="DEFERRED"
        )
    )
    # Set when the key was sent with an addendum: the addendum a replay returns.
    addendum_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("referral_addenda.id", ondelete="CASCADE", deferrable=True, initially="DEFERRED")
    )
    created_at: Mapped[datetime] = created_at()

    __table_args__ = (Index("ix_referral_idempotency_keys_created_at", "created_at"),)


__all__ = [
    "REFERENCE_SEQUENCE",
    "REFERRAL_STATUSES",
    "IdempotencyKey",
    "Referral",
    "ReferralAddendum",
]
