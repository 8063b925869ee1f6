"""The front-door queue: open contacts in the caller's lanes, most urgent first.

Order: priority (0 = safety floor), then the nearest running deadline, then id; keyset
(cursor) pagination over exactly that order, served by a partial index on open contacts.
A MARF's children are one contact, so a sibling group is one queue item.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, func, select, tuple_
from sqlalchemy.dialects.postgresql import aggregate_order_by

from services.errors import FieldError, Unprocessable
from services.models.triage import OPEN_STATUSES, TriageClock, TriageContact


@dataclass(frozen=True)
class QueueFilters:
    lanes: Collection[str]
    lane: str | None = None
    level: int | None = None
    status: str | None = None
    assigned_to: str | None = None
    due_before: datetime | None = None
    breached: bool | None = None


_C = TriageContact
_K = TriageClock
# The breached clocks' kinds, in deadline order, in the same statement (no second round
# trip); looked up only for the page's rows that have a breach.
BREACHED_CLOCKS = case(
    (
        _C.breached,
        select(func.array_agg(aggregate_order_by(_K.kind, _K.deadline_at)))
        .where(_K.contact_id == _C.id, _K.state == "breached")
        .correlate(_C)
        .scalar_subquery(),
    ),
).label("breached_clocks")
# Only what a queue item shows: never the MARF, facts or evaluation (the page stays small).
QUEUE_COLUMNS = (
    _C.id, _C.reference, _C.kind, _C.channel, _C.status, _C.lane, _C.level, _C.rag,
    _C.priority, _C.safety_floor, _C.received_at, _C.queue_deadline_at, _C.breached,
    _C.re_referral, _C.assigned_to, _C.lease_holder, _C.lease_expires_at, _C.subjects_summary,
    BREACHED_CLOCKS,
)  # fmt: skip


def encode_cursor(contact: Any) -> str:
    raw = json.dumps(
        [contact.priority, contact.queue_deadline_at.isoformat(), str(contact.id)]
    ).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        priority, deadline, contact_id = json.loads(base64.urlsafe_b64decode(padded))
        return int(priority), datetime.fromisoformat(deadline), uuid.UUID(contact_id)
    except (ValueError, TypeError) as exc:
        raise Unprocessable(
            fields=[FieldError(path="cursor", reason="not a valid cursor")]
        ) from exc


def queue_statement(
    council_id: str, filters: QueueFilters, *, limit: int, cursor: str | None
) -> Select[Any]:
    lanes = [filters.lane] if filters.lane else list(filters.lanes)
    if filters.lane and filters.lane not in filters.lanes:
        lanes = []
    statuses = [filters.status] if filters.status else list(OPEN_STATUSES)
    c = TriageContact
    stmt = select(*QUEUE_COLUMNS).where(
        c.council_id == council_id,
        c.status.in_(OPEN_STATUSES),
        c.status.in_(statuses),
        c.lane.in_(lanes),
    )
    if filters.level is not None:
        stmt = stmt.where(c.level == filters.level)
    if filters.assigned_to is not None:
        stmt = stmt.where(c.assigned_to == filters.assigned_to)
    if filters.due_before is not None:
        stmt = stmt.where(c.queue_deadline_at <= filters.due_before)
    if filters.breached is not None:
        stmt = stmt.where(c.breached.is_(filters.breached))
    if cursor:
        after = decode_cursor(cursor)
        stmt = stmt.where(tuple_(c.priority, c.queue_deadline_at, c.id) > tuple_(*after))
    return stmt.order_by(c.priority, c.queue_deadline_at, c.id).limit(limit + 1)
