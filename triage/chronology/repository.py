"""SQL of the chronology and the MASH overview.

The chronology: every record of a contact's history in one round trip.

One statement returns each table's rows for the contact as a JSON array (nine correlated
`json_agg` subqueries, each served by the table's `contact_id` index): with nine separate
SELECTs, the round trips were most of a chronology's time.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.db import driver_connection
from services.models.mash import MashRagRating
from services.models.triage import TriageClock

TABLES = (
    ("ratings", "mash_rag_ratings"),
    ("checks", "mash_partner_checks"),
    ("notes", "mash_case_notes"),
    ("discussions", "mash_strategy_discussions"),
    ("decisions", "triage_decisions"),
    ("clocks", "triage_clocks"),
    ("addenda", "triage_addenda"),
    ("screenings", "triage_screenings"),
    ("handovers", "mash_handovers"),
)
# The columns the chronology reads as ids (others, like `message_id`, stay text).
UUID_COLUMNS = frozenset({"id", "contact_id"})
HISTORY_SQL = "SELECT " + ", ".join(
    f"(SELECT coalesce(json_agg(t), '[]') FROM {table} t WHERE t.contact_id = $1)"
    for _, table in TABLES
)


@dataclass
class History:
    """Each table's rows as objects with the columns as attributes (times parsed)."""

    ratings: Sequence[Any]
    checks: Sequence[Any]
    notes: Sequence[Any]
    discussions: Sequence[Any]
    decisions: Sequence[Any]
    clocks: Sequence[Any]
    addenda: Sequence[Any]
    screenings: Sequence[Any]
    handovers: Sequence[Any]


def _value(name: str, value: object) -> object:
    if value is None or not isinstance(value, str):
        return value
    if name.endswith("_at"):
        return datetime.fromisoformat(value)
    if name.endswith("_on"):
        return date.fromisoformat(value)
    if name in UUID_COLUMNS:
        return uuid.UUID(value)
    return value


def _rows(raw: str | list[dict[str, Any]]) -> list[SimpleNamespace]:
    # SQLAlchemy's asyncpg connections decode json already; a bare connection does not.
    rows = json.loads(raw) if isinstance(raw, str) else raw
    return [SimpleNamespace(**{k: _value(k, v) for k, v in row.items()}) for row in rows]


async def history(session: AsyncSession, contact_id: uuid.UUID) -> History:
    conn = await driver_connection(session)
    row = await conn.fetchrow(HISTORY_SQL, contact_id)
    assert row is not None
    return History(**{name: _rows(row[i]) for i, (name, _) in enumerate(TABLES)})


async def overview_clocks(session: AsyncSession, contact_id: uuid.UUID) -> dict[str, TriageClock]:
    """The contact's MASH and ICPC clocks, by kind (the overview shows their deadlines)."""
    stmt = select(TriageClock).where(
        TriageClock.contact_id == contact_id, TriageClock.kind.in_(("mash", "icpc"))
    )
    return {k.kind: k for k in await session.scalars(stmt)}


async def screened(session: AsyncSession, contact_id: uuid.UUID) -> bool:
    """Whether the contact has a RAG rating yet."""
    stmt = select(MashRagRating.id).where(MashRagRating.contact_id == contact_id).limit(1)
    return await session.scalar(stmt) is not None
