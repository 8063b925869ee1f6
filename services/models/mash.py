"""Tables owned by the `triage` service for the MASH's own work (written only by it).

- `mash_rag_ratings`: each screening RAG rating of a contact, append-only (the history).
- `mash_partner_checks`: a check requested from one partner agency for one contact, and
  what the agency recorded (or why it declined).
- `mash_strategy_discussions` + `mash_strategy_actions`: s47 strategy discussions and their
  actions (owner, due date, done date).
- `mash_case_notes`: append-only notes; a correction is a new note pointing at the old one.
- `mash_handovers` + `mash_handover_attempts`: the signed event to the council's case
  system and every delivery attempt.
- `mash_children`, `mash_child_links`, `mash_child_flags`, `mash_child_access`: the child's
  identity across contacts, flags kept as history, and restriction to named people.
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
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.models.base import Base, created_at, uuid_pk

_CONTACT_FK = "triage_contacts.id"


# The states a row can be in: typed on the columns (the columns stay VARCHAR).
CheckStatus = Literal["requested", "answered", "declined", "nothing_held"]
HandoverStatus = Literal["pending", "delivered", "failed", "gone", "refused"]
ChildLinkState = Literal["matched", "confirmed", "new"]


class MashRagRating(Base):
    __tablename__ = "mash_rag_ratings"

    id: Mapped[uuid.UUID] = uuid_pk()
    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(_CONTACT_FK, ondelete="CASCADE"), index=True
    )
    rag: Mapped[str] = mapped_column(String(8))  # red | amber | green
    previous_rag: Mapped[str | None] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(Text)
    set_by: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime]
    # The MASH deadline this rating gave (from receipt, per the council's timescales).
    due_at: Mapped[datetime]


class MashPartnerCheck(Base):
    __tablename__ = "mash_partner_checks"

    id: Mapped[uuid.UUID] = uuid_pk()
    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(_CONTACT_FK, ondelete="CASCADE"))
    council_id: Mapped[str] = mapped_column(String(64))
    agency_id: Mapped[str] = mapped_column(String(64))
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime]
    due_at: Mapped[datetime]
    # requested | answered | declined | nothing_held
    status: Mapped[CheckStatus] = mapped_column(String(16), default="requested")
    known: Mapped[bool | None] = mapped_column(Boolean)
    summary: Mapped[str | None] = mapped_column(Text)
    risk_indicators: Mapped[list[str]] = mapped_column(JSONB, default=list)
    latest_involvement_on: Mapped[date | None] = mapped_column(Date)
    researched_by: Mapped[str | None] = mapped_column(String(200))
    declined_reason: Mapped[str | None] = mapped_column(Text)
    responded_by: Mapped[str | None] = mapped_column(String(200))
    responded_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("contact_id", "agency_id"),
        Index("ix_mash_partner_checks_agency_open", "council_id", "agency_id", "status"),
        Index(
            "ix_mash_partner_checks_due_open",
            "due_at",
            postgresql_where=text("status = 'requested'"),
        ),
    )


class MashStrategyDiscussion(Base):
    __tablename__ = "mash_strategy_discussions"

    id: Mapped[uuid.UUID] = uuid_pk()
    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(_CONTACT_FK, ondelete="CASCADE"), index=True
    )
    held_at: Mapped[datetime]
    formal: Mapped[bool] = mapped_column(Boolean)
    not_formal_reason: Mapped[str | None] = mapped_column(Text)
    # [{"name", "role", "agency"}]
    participants: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    information_shared: Mapped[str] = mapped_column(Text)
    # single_agency_s47 | joint_agency_s47 | icpc | nfa
    decision: Mapped[str] = mapped_column(String(24))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime]
    icpc_due_at: Mapped[datetime | None]


class MashStrategyAction(Base):
    __tablename__ = "mash_strategy_actions"

    id: Mapped[uuid.UUID] = uuid_pk()
    discussion_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mash_strategy_discussions.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(_CONTACT_FK, ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(SmallInteger)
    description: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date] = mapped_column(Date)
    done_on: Mapped[date | None] = mapped_column(Date)
    done_recorded_by: Mapped[str | None] = mapped_column(String(200))


class MashCaseNote(Base):
    __tablename__ = "mash_case_notes"

    id: Mapped[uuid.UUID] = uuid_pk()
    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(_CONTACT_FK, ondelete="CASCADE"), index=True
    )
    author: Mapped[str] = mapped_column(String(200))
    author_role: Mapped[str] = mapped_column(String(32))
    written_at: Mapped[datetime]
    text: Mapped[str] = mapped_column(Text)
    corrects_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("mash_case_notes.id"))


class MashHandover(Base):
    __tablename__ = "mash_handovers"

    id: Mapped[uuid.UUID] = uuid_pk()
    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(_CONTACT_FK, ondelete="CASCADE"))
    council_id: Mapped[str] = mapped_column(String(64))
    # assessment | strategy_discussion | transfer
    handover_type: Mapped[str] = mapped_column(String(24))
    outcome: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    body: Mapped[str] = mapped_column(Text)
    # pending | delivered | failed (gave up) | gone (410) | refused (no endpoint / unsafe)
    status: Mapped[HandoverStatus] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()
    delivered_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("contact_id", "handover_type"),
        Index(
            "ix_mash_handovers_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
    )


class MashHandoverAttempt(Base):
    __tablename__ = "mash_handover_attempts"

    id: Mapped[uuid.UUID] = uuid_pk()
    handover_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mash_handovers.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(16))
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(200))
    response_excerpt: Mapped[str | None] = mapped_column(Text)


class MashChild(Base):
    __tablename__ = "mash_children"

    id: Mapped[uuid.UUID] = uuid_pk()
    council_id: Mapped[str] = mapped_column(String(64))
    # What the worker sees in a search result; the keys below are normalised for matching.
    display_name: Mapped[str] = mapped_column(String(400))
    given_name_norm: Mapped[str | None] = mapped_column(String(200))
    family_name_norm: Mapped[str | None] = mapped_column(String(200))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    nhs_number: Mapped[str | None] = mapped_column(String(10))
    upn: Mapped[str | None] = mapped_column(String(13))
    postcode: Mapped[str | None] = mapped_column(String(10))
    restricted: Mapped[bool] = mapped_column(Boolean, default=False)
    # The flags currently active (the latest change of each is active), kept with each change
    # so the queue and search show them without reading the history.
    active_flags: Mapped[list[str]] = mapped_column(ARRAY(String(32)), server_default=text("'{}'"))
    created_at: Mapped[datetime] = created_at()

    __table_args__ = (
        Index("ix_mash_children_nhs", "council_id", "nhs_number"),
        Index("ix_mash_children_upn", "council_id", "upn"),
        Index("ix_mash_children_postcode", "council_id", "postcode"),
        Index("ix_mash_children_dob", "council_id", "date_of_birth"),
        Index(
            "ix_mash_children_family_given",
            "council_id",
            "family_name_norm",
            "given_name_norm",
            postgresql_ops={"family_name_norm": "text_pattern_ops"},
        ),
        Index(
            "ix_mash_children_given",
            "council_id",
            "given_name_norm",
            postgresql_ops={"given_name_norm": "text_pattern_ops"},
        ),
    )


class MashChildLink(Base):
    __tablename__ = "mash_child_links"

    id: Mapped[uuid.UUID] = uuid_pk()
    child_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mash_children.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(_CONTACT_FK, ondelete="CASCADE"), index=True
    )
    subject_position: Mapped[int] = mapped_column(SmallInteger)
    matched_on: Mapped[list[str]] = mapped_column(JSONB, default=list)
    # matched (automatic) | confirmed (a worker agreed) | new (no earlier child)
    state: Mapped[ChildLinkState] = mapped_column(String(16))
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("contact_id", "subject_position"),)


class MashChildFlag(Base):
    """One change of one flag on a child: the current value is the latest row per flag."""

    __tablename__ = "mash_child_flags"

    id: Mapped[uuid.UUID] = uuid_pk()
    child_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mash_children.id", ondelete="CASCADE"), index=True
    )
    flag: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean)
    risk_level: Mapped[str | None] = mapped_column(String(8))
    placing_authority: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    set_by: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime]
    # The value this change replaced ({"active", "risk_level", "placing_authority"}) or null.
    previous: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class MashChildAccess(Base):
    """The named people who may see a restricted child."""

    __tablename__ = "mash_child_access"

    child_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mash_children.id", ondelete="CASCADE"), primary_key=True
    )
    sub: Mapped[str] = mapped_column(String(200), primary_key=True)
    granted_by: Mapped[str] = mapped_column(String(200))
    granted_at: Mapped[datetime]


__all__ = [
    "MashCaseNote",
    "MashChild",
    "MashChildAccess",
    "MashChildFlag",
    "MashChildLink",
    "MashHandover",
    "MashHandoverAttempt",
    "MashPartnerCheck",
    "MashRagRating",
    "MashStrategyAction",
    "MashStrategyDiscussion",
]
