"""Platform tables: audit log, event outbox, per-consumer event processing, council calendar.

Ownership: written by the platform code (`services.audit`, `services.events`) on behalf of
whichever service runs it; the calendar tables are written by the demo seed and the admin API.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Identity, Index, Sequence, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.models.base import Base, created_at, uuid_pk


class AuditEntry(Base):
    """Append-only: who read or wrote which child's record, when, and in which request.

    The application's database role may only INSERT and SELECT here; each row is sealed into
    `audit_chain` when its transaction commits (see services/audit_chain.py).
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    occurred_at: Mapped[datetime] = created_at()
    # The council whose record it is (the actor's, or the record's for a worker): an auditor
    # reads only their own council's trail.
    council_id: Mapped[str | None] = mapped_column(String(64))
    service: Mapped[str] = mapped_column(String(32))
    actor_sub: Mapped[str] = mapped_column(String(200))
    actor_role: Mapped[str] = mapped_column(String(32))
    actor_org: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        Index("ix_audit_log_entity", "entity_type", "entity_id"),
        Index("ix_audit_log_council_id", "council_id", "id"),
    )


AUDIT_CHAIN_SEQUENCE = Sequence("audit_chain_seq", metadata=Base.metadata)


class AuditChainLink(Base):
    """The tamper evidence: one link per audit row, in commit order.

    `row_hash = sha256(prev_hash || canonical row)`, written by a deferred trigger as the row's
    transaction commits (under an advisory lock, so links are strictly ordered). Only that
    trigger (SECURITY DEFINER, owned by the schema owner) writes here.
    """

    __tablename__ = "audit_chain"

    seq: Mapped[int] = mapped_column(BigInteger, AUDIT_CHAIN_SEQUENCE, primary_key=True)
    audit_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))


class OutboxEvent(Base):
    """An event, written in the same transaction as the change that caused it."""

    __tablename__ = "outbox_events"

    id: Mapped[uuid.UUID] = uuid_pk()
    topic: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(default=1)
    producer: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = created_at()
    # The request that caused the event: its consumers' log lines and audit rows carry it too,
    # so one id follows a referral from the partner's POST through every service.
    request_id: Mapped[str | None] = mapped_column(String(64))


class EventConsumption(Base):
    """One row per (consumer, event): the consumer's queue entry and, once done, its receipt."""

    __tablename__ = "event_consumptions"

    consumer: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|done|dead
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    last_error: Mapped[str | None] = mapped_column(String(500))
    processed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()

    __table_args__ = (
        Index(
            "ix_event_consumptions_due",
            "consumer",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
    )


class CouncilCalendar(Base):
    """A council's working-day configuration: time zone, office hours, deadline rule."""

    __tablename__ = "council_calendars"

    council_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    # {"0": ["08:30", "17:00"], ... "4": ["08:30", "16:30"]}: weekday (Mon=0) -> open, close.
    office_hours: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # "same_time" (default) or "end_of_day": how "N working days after" is read.
    working_day_rule: Mapped[str] = mapped_column(String(16), default="same_time")
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class ClosureDay(Base):
    """A council-configured non-working day on top of the bank holidays."""

    __tablename__ = "council_closure_days"

    council_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    reason: Mapped[str] = mapped_column(Text)


__all__ = [
    "AuditChainLink",
    "AuditEntry",
    "ClosureDay",
    "CouncilCalendar",
    "EventConsumption",
    "OutboxEvent",
]
