"""Tables owned by the `triage` service (written only by it; others may read).

- `triage_rule_sets`: versioned Continuum of Need decision tables (drafts editable, published
  immutable, one active per council, enforced by a partial unique index).
- `triage_contacts`: everything that reached the front door, its proposal, decision state,
  lease and the denormalised queue keys (`priority`, `queue_deadline_at`, `breached`).
- `triage_subjects`: the children on a contact, with normalised identifiers for re-referral
  matching.
- `triage_clocks`: one row per timeliness clock per contact.
- `triage_decisions`, `triage_addenda`, `triage_screenings`: the decision trail.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Sequence,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.models.base import Base, created_at, uuid_pk

# Human references FDC-<year>-<n>: the number comes from this sequence (never reused).
CONTACT_REFERENCE_SEQ = Sequence("triage_contact_reference_seq", metadata=Base.metadata)

# The states a row can be in: typed on the columns (the columns stay VARCHAR).
RuleSetStatus = Literal["draft", "published"]
# merged: a MARF's own contact joined into the phone contact it follows up.
ContactStatus = Literal["open", "awaiting_sign_off", "decided", "merged"]
ClockState = Literal["running", "paused", "met", "breached"]
# final: needed no sign-off; pending_sign_off -> approved | returned.
DecisionStatus = Literal["final", "pending_sign_off", "approved", "returned"]

OPEN_STATUSES: tuple[ContactStatus, ...] = ("open", "awaiting_sign_off")


class TriageRuleSet(Base):
    __tablename__ = "triage_rule_sets"

    id: Mapped[uuid.UUID] = uuid_pk()
    council_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[RuleSetStatus] = mapped_column(String(16), default="draft")
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    # {"levels": [...], "defaults": {...}, "rules": [...]}: see triage.rules.model.
    body: Mapped[dict[str, Any]] = mapped_column(JSONB)
    based_on_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("triage_rule_sets.id"))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    published_by: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        UniqueConstraint("council_id", "version"),
        Index(
            "uq_triage_rule_sets_one_active",
            "council_id",
            unique=True,
            postgresql_where=text("active"),
        ),
    )


class TriageContact(Base):
    __tablename__ = "triage_contacts"

    id: Mapped[uuid.UUID] = uuid_pk()
    council_id: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    # phone | email | api | police_feed | walk_in
    channel: Mapped[str] = mapped_column(String(16))
    # marf | concern | dv_notification | consultation
    kind: Mapped[str] = mapped_column(String(24))
    from_professional: Mapped[bool] = mapped_column(Boolean, default=False)
    referral_id: Mapped[uuid.UUID | None] = mapped_column(unique=True)
    referral_reference: Mapped[str | None] = mapped_column(String(40))
    agency_id: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at()
    status: Mapped[ContactStatus] = mapped_column(String(20), default="open")
    # The submitted MARF, or the front door's record of a phone call / email / notification.
    record: Mapped[dict[str, Any]] = mapped_column(JSONB)
    facts: Mapped[dict[str, Any]] = mapped_column(JSONB)
    evaluation: Mapped[dict[str, Any]] = mapped_column(JSONB)
    rule_set_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("triage_rule_sets.id"))
    rule_set_version: Mapped[int | None] = mapped_column(Integer)
    subjects_summary: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    lane: Mapped[str] = mapped_column(String(16))
    level: Mapped[int] = mapped_column(SmallInteger)
    rag: Mapped[str] = mapped_column(String(8))
    priority: Mapped[int] = mapped_column(SmallInteger)
    safety_floor: Mapped[bool] = mapped_column(Boolean, default=False)
    queue_deadline_at: Mapped[datetime]
    breached: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_state: Mapped[str | None] = mapped_column(String(16))
    child_voice_present: Mapped[bool] = mapped_column(Boolean, default=False)
    wants_feedback: Mapped[bool] = mapped_column(Boolean, default=True)
    previous_referrals_12m: Mapped[int] = mapped_column(Integer, default=0)
    re_referral: Mapped[bool] = mapped_column(Boolean, default=False)
    assigned_to: Mapped[str | None] = mapped_column(String(200))
    lease_holder: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None]
    linked_phone_contact_id: Mapped[uuid.UUID | None]
    # A MARF that quoted a phone contact's reference without matching it: {"reference",
    # "note": "claims to follow up FDC-…", "reasons": [...]} for a worker to reconcile.
    follow_up_claim: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # Joint DV screening: awaiting_joint | disagreed | routed (None outside the DV lane).
    screening_state: Mapped[str | None] = mapped_column(String(20))
    written_follow_up_at: Mapped[datetime | None]
    follow_up_overdue_emitted_at: Mapped[datetime | None]
    contact_type: Mapped[str | None] = mapped_column(String(24))
    outcome: Mapped[str | None] = mapped_column(String(32))
    decided_at: Mapped[datetime | None]
    feedback: Mapped[str | None] = mapped_column(Text)
    feedback_next_steps: Mapped[str | None] = mapped_column(Text)
    feedback_given_at: Mapped[datetime | None]

    __table_args__ = (
        Index(
            "ix_triage_contacts_queue",
            "council_id",
            "priority",
            "queue_deadline_at",
            "id",
            postgresql_where=text("status IN ('open', 'awaiting_sign_off')"),
        ),
        Index("ix_triage_contacts_council_received", "council_id", "received_at"),
    )


class TriageSubject(Base):
    __tablename__ = "triage_subjects"

    id: Mapped[uuid.UUID] = uuid_pk()
    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("triage_contacts.id", ondelete="CASCADE"), index=True
    )
    council_id: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(SmallInteger)
    kind: Mapped[str] = mapped_column(String(16))
    given_name_norm: Mapped[str | None] = mapped_column(String(200))
    family_name_norm: Mapped[str | None] = mapped_column(String(200))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    nhs_number: Mapped[str | None] = mapped_column(String(10))
    upn: Mapped[str | None] = mapped_column(String(13))
    postcode: Mapped[str | None] = mapped_column(String(10))
    received_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_triage_subjects_nhs", "council_id", "nhs_number"),
        Index("ix_triage_subjects_upn", "council_id", "upn"),
        Index(
            "ix_triage_subjects_name_dob",
            "council_id",
            "family_name_norm",
            "given_name_norm",
            "date_of_birth",
        ),
    )


class TriageClock(Base):
    __tablename__ = "triage_clocks"

    id: Mapped[uuid.UUID] = uuid_pk()
    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("triage_contacts.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime]
    deadline_at: Mapped[datetime]
    due_soon_at: Mapped[datetime]
    state: Mapped[ClockState] = mapped_column(String(16), default="running")
    paused_at: Mapped[datetime | None]
    paused_reason: Mapped[str | None] = mapped_column(Text)
    resumed_at: Mapped[datetime | None]
    met_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]
    due_soon_emitted_at: Mapped[datetime | None]
    breach_emitted_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("contact_id", "kind"),
        Index(
            "ix_triage_clocks_running_deadline",
            "deadline_at",
            postgresql_where=text("state = 'running'"),
        ),
        Index(
            "ix_triage_clocks_running_due_soon",
            "due_soon_at",
            postgresql_where=text("state = 'running' AND due_soon_emitted_at IS NULL"),
        ),
    )


class TriageDecision(Base):
    __tablename__ = "triage_decisions"

    id: Mapped[uuid.UUID] = uuid_pk()
    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("triage_contacts.id", ondelete="CASCADE"), index=True
    )
    made_by: Mapped[str] = mapped_column(String(200))
    made_at: Mapped[datetime]
    contact_type: Mapped[str] = mapped_column(String(24))
    outcome: Mapped[str] = mapped_column(String(32))
    nfa_reason: Mapped[str | None] = mapped_column(Text)
    level: Mapped[int] = mapped_column(SmallInteger)
    primary_need_code: Mapped[str | None] = mapped_column(String(2))
    rationale: Mapped[str] = mapped_column(Text)
    consent_state: Mapped[str | None] = mapped_column(String(16))
    consent_reason: Mapped[str | None] = mapped_column(Text)
    # Who gave or refused consent (a role, never a name): the audit's "consent recorded".
    consent_given_by: Mapped[str | None] = mapped_column(String(40))
    strategy_discussion: Mapped[bool] = mapped_column(Boolean, default=False)
    next_steps: Mapped[str | None] = mapped_column(Text)
    rule_set_version: Mapped[int | None] = mapped_column(Integer)
    # One line per child: [{"position", "level", "primary_need_code", "outcome", "nfa_reason"}].
    children: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    # Why the decided level is above the proposal's; who decided to proceed without consent.
    level_reason: Mapped[str | None] = mapped_column(Text)
    consent_decided_by: Mapped[str | None] = mapped_column(String(200))
    # pending_sign_off | approved | returned | final (no sign-off needed)
    status: Mapped[DecisionStatus] = mapped_column(String(20))
    signed_off_by: Mapped[str | None] = mapped_column(String(200))
    signed_off_at: Mapped[datetime | None]
    sign_off_note: Mapped[str | None] = mapped_column(Text)


class TriageAddendum(Base):
    __tablename__ = "triage_addenda"

    id: Mapped[uuid.UUID] = uuid_pk()
    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("triage_contacts.id", ondelete="CASCADE"), index=True
    )
    addendum_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    added_at: Mapped[datetime]
    text: Mapped[str] = mapped_column(Text)


class TriageScreening(Base):
    """A DV screening note: police screener and social worker screen the lane jointly."""

    __tablename__ = "triage_screenings"

    id: Mapped[uuid.UUID] = uuid_pk()
    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("triage_contacts.id", ondelete="CASCADE"), index=True
    )
    screened_by: Mapped[str] = mapped_column(String(200))
    screener_role: Mapped[str] = mapped_column(String(32))
    screened_at: Mapped[datetime]
    # view (a screener's) | resolution (a team manager's, where the screeners disagreed)
    kind: Mapped[str] = mapped_column(String(16), default="view", server_default="view")
    route_to: Mapped[str] = mapped_column(String(16))
    encompass: Mapped[bool] = mapped_column(Boolean, default=False)
    rationale: Mapped[str] = mapped_column(Text)


__all__ = [
    "CONTACT_REFERENCE_SEQ",
    "OPEN_STATUSES",
    "ClockState",
    "ContactStatus",
    "DecisionStatus",
    "RuleSetStatus",
    "TriageAddendum",
    "TriageClock",
    "TriageContact",
    "TriageDecision",
    "TriageRuleSet",
    "TriageScreening",
    "TriageSubject",
]
