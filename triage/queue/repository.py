"""The front-door queue: open contacts in the caller's lanes, most urgent first.

Order: priority (0 = safety floor), then the nearest running deadline, then id; keyset
(cursor) pagination over exactly that order, served by a partial index on open contacts.
A MARF's children are one contact, so a sibling group is one queue item.

A page is one SELECT of only the item's columns, compiled once for each combination of
filters given (at most 48) and run with the request's values as parameters on the
session's asyncpg connection (the platform's `driver_connection`): no ORM entities, no
statement built, hashed or compiled per request, and the rows become the page's items in
one validation. The open statuses are written into the SQL as the partial index's own
predicate: with them as parameters, PostgreSQL's generic plan for the prepared statement
is a sequential scan, so every execution was planned afresh.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    any_,
    bindparam,
    case,
    func,
    literal_column,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from services import paging
from services.db import DriverStatement, driver_connection, driver_statement
from services.models.mash import MashChild, MashChildLink, MashPartnerCheck
from services.models.triage import OPEN_STATUSES, TriageClock, TriageContact
from triage.contacts.repository import visible_to_caller
from triage.queue.schemas import QueueItem


@dataclass(frozen=True)
class QueueFilters:
    lanes: Collection[str]
    lane: str | None = None
    level: int | None = None
    status: str | None = None
    assigned_to: str | None = None
    due_before: datetime | None = None
    breached: bool | None = None


_C = TriageContact.__table__.c
_K = TriageClock.__table__.c
# The breached clocks' kinds, in deadline order, in the same statement (no second round
# trip); looked up only for the page's rows that have a breach.
BREACHED_CLOCKS = case(
    (
        _C.breached,
        select(func.array_agg(aggregate_order_by(_K.kind, _K.deadline_at)))
        .where(_K.contact_id == _C.id, _K.state == literal_column("'breached'"))
        .correlate(TriageContact.__table__)
        .scalar_subquery(),
    ),
).label("breached_clocks")
_P = MashPartnerCheck.__table__.c
# MASH partner checks still unanswered past their due time (served by the checks' partial
# index on open checks; a contact has a handful at most).
OVERDUE_CHECKS = (
    select(func.count())
    .where(
        _P.contact_id == _C.id,
        _P.status == literal_column("'requested'"),
        _P.due_at < func.now(),
    )
    .correlate(TriageContact.__table__)
    .scalar_subquery()
    .label("overdue_checks")
)
# The active flags of the contact's children (CSE, missing, looked after...), so a new
# contact about a flagged child says so in the queue (a sibling group has a few children).
CHILD_FLAGS = literal_column(
    f"(SELECT array_agg(DISTINCT f) FROM {MashChildLink.__tablename__} l"
    f" JOIN {MashChild.__tablename__} ch ON ch.id = l.child_id,"
    " unnest(ch.active_flags) AS f"
    f" WHERE l.contact_id = {TriageContact.__tablename__}.id)",
    type_=ARRAY(String),
).label("child_flags")
# Only what a queue item shows: never the MARF, facts or evaluation (the page stays small).
# Each column with the queue item's field it fills.
_ITEM_COLUMNS: tuple[tuple[str, ColumnElement[Any]], ...] = (
    ("id", _C.id), ("reference", _C.reference), ("kind", _C.kind), ("channel", _C.channel),
    ("status", _C.status), ("lane", _C.lane), ("level", _C.level), ("rag", _C.rag),
    ("priority", _C.priority), ("safety_floor", _C.safety_floor),
    ("received_at", _C.received_at), ("deadline_at", _C.queue_deadline_at),
    ("breached", _C.breached), ("re_referral", _C.re_referral),
    ("assigned_to", _C.assigned_to), ("lease_holder", _C.lease_holder),
    ("lease_expires_at", _C.lease_expires_at), ("subjects", _C.subjects_summary),
    ("breached_clocks", BREACHED_CLOCKS), ("overdue_checks", OVERDUE_CHECKS),
    ("child_flags", CHILD_FLAGS),
)  # fmt: skip
QUEUE_COLUMNS = tuple(column for _, column in _ITEM_COLUMNS)
ITEM_FIELDS = tuple(field for field, _ in _ITEM_COLUMNS)
QueuePage = paging.Page[QueueItem]
_OPEN = _C.status.in_([literal_column(f"'{status}'") for status in OPEN_STATUSES])


def encode_cursor(item: Mapping[str, Any]) -> str:
    """The cursor after a queue item (its keys: priority, deadline, id)."""
    return paging.encode_cursor(item["priority"], item["deadline_at"], item["id"])


def decode_cursor(cursor: str) -> tuple[int, datetime, uuid.UUID]:
    """The key after which the next page starts; a cursor not issued here is a 422."""
    return paging.decode_cursor(cursor, (int, datetime, uuid.UUID))


@lru_cache(maxsize=64)
def _statement(
    level: bool, assigned_to: bool, due_before: bool, breached: bool | None, after: bool
) -> DriverStatement:
    """The page's SQL for the filters given, with parameters for their values."""
    c = _C
    stmt = select(*QUEUE_COLUMNS).where(
        c.council_id == bindparam("council_id"),
        _OPEN,
        c.status == any_(bindparam("statuses", type_=ARRAY(String))),
        c.lane == any_(bindparam("lanes", type_=ARRAY(String))),
        # Not a contact about a child restricted to named people the caller is not one of.
        visible_to_caller(),
    )
    if level:
        stmt = stmt.where(c.level == bindparam("level"))
    if assigned_to:
        stmt = stmt.where(c.assigned_to == bindparam("assigned_to"))
    if due_before:
        stmt = stmt.where(c.queue_deadline_at <= bindparam("due_before"))
    if breached is not None:  # `IS true` / `IS false` take no parameter
        stmt = stmt.where(c.breached.is_(breached))
    if after:
        stmt = stmt.where(
            tuple_(c.priority, c.queue_deadline_at, c.id)
            > tuple_(
                bindparam("after_priority", type_=c.priority.type),
                bindparam("after_deadline", type_=c.queue_deadline_at.type),
                bindparam("after_id", type_=c.id.type),
            )
        )
    order = stmt.order_by(c.priority, c.queue_deadline_at, c.id)
    return driver_statement(order.limit(bindparam("limit", type_=Integer())))


def queue_query(
    council_id: str, filters: QueueFilters, *, sub: str, limit: int, cursor: str | None
) -> tuple[str, list[Any]]:
    """The SQL for a page of `limit` items (it reads one more row, to know whether there is
    a next page) and its arguments. `sub` is the caller: a contact about a restricted child
    they are not named on is left out."""
    lanes = [filters.lane] if filters.lane else list(filters.lanes)
    if filters.lane and filters.lane not in filters.lanes:
        lanes = []
    after = decode_cursor(cursor) if cursor else None
    values: dict[str, Any] = {
        "council_id": council_id,
        "sub": sub,
        "statuses": [filters.status] if filters.status else list(OPEN_STATUSES),
        "lanes": lanes,
        "limit": limit + 1,
    }
    if filters.level is not None:
        values["level"] = filters.level
    if filters.assigned_to is not None:
        values["assigned_to"] = filters.assigned_to
    if filters.due_before is not None:
        values["due_before"] = filters.due_before
    if after is not None:
        values["after_priority"], values["after_deadline"], values["after_id"] = after
    statement = _statement(
        filters.level is not None,
        filters.assigned_to is not None,
        filters.due_before is not None,
        filters.breached,
        after is not None,
    )
    return statement.sql, statement.args(values)


async def queue_page(
    session: AsyncSession,
    council_id: str,
    filters: QueueFilters,
    *,
    sub: str,
    limit: int,
    cursor: str | None,
) -> QueuePage:
    """One page of the queue, read on the session's connection.

    The read runs in the session's transaction once a statement has begun it (the endpoint
    writes its audit row first); before that, it is a statement of its own.
    """
    sql, args = queue_query(council_id, filters, sub=sub, limit=limit, cursor=cursor)
    rows = await (await driver_connection(session)).fetch(sql, *args)
    items = []
    for row in rows[:limit]:
        item = dict(zip(ITEM_FIELDS, row, strict=True))
        item["breached_clocks"] = item["breached_clocks"] or []
        item["child_flags"] = sorted(item["child_flags"] or [])
        items.append(item)
    next_cursor = encode_cursor(items[-1]) if len(rows) > limit and items else None
    return QueuePage.model_validate({"items": items, "limit": limit, "next_cursor": next_cursor})
