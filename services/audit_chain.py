"""Tamper evidence for the audit log: each row hash-chained to the one before.

The database seals every audit row into `audit_chain` (migration h16b):
`row_hash = sha256(prev_hash || canonical(row))`, in sealing order, the first link's
`prev_hash` being 64 zeros. A deferred trigger seals a row as its transaction commits when
the chain's lock is free; a row whose commit found it busy is sealed moments later by
`seal_pending` (every worker runs it every few seconds, and `verify` runs it first). The
application's role can neither change `audit_log` nor write `audit_chain`, so the trail can
only be edited by the schema owner, and an edit breaks the chain at the row edited.

`verify` recomputes every link here, in Python, from the rows themselves (not with the
database's own function, which the owner could replace) and names the first broken link:
a row changed, a row deleted, a link removed or reordered, or an old row never sealed. A row
the owner inserts is sealed like any other: insertion by the owner is not what this detects.
Deleting the newest rows leaves a shorter valid chain: compare the head `verify` prints with
one kept elsewhere (docs/audit.md).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.db import transaction
from services.events.consumer import Periodic

GENESIS = "0" * 64
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

# The columns the hash covers, in order: the same list as audit_canonical() in migration h16b.
CANONICAL_COLUMNS = (
    "id",
    "occurred_at",
    "council_id",
    "service",
    "actor_sub",
    "actor_role",
    "actor_org",
    "action",
    "entity_type",
    "entity_id",
    "request_id",
    "reason",
)


def canonical(row: dict[str, Any]) -> str:
    """The row as PostgreSQL's `jsonb_build_array(...)::text` writes it: a JSON array with
    ", " between items, non-ASCII as is, and the time as integer microseconds since 1970."""
    values = [row[c] for c in CANONICAL_COLUMNS]
    values[1] = (row["occurred_at"] - _EPOCH) // _MICROSECOND
    return json.dumps(values, ensure_ascii=False)


def link_hash(prev_hash: str, row: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical(row)).encode()).hexdigest()


@dataclass(frozen=True)
class Broken:
    """The first link that does not hold."""

    seq: int | None
    audit_id: int
    reason: str

    def __str__(self) -> str:
        where = f"link {self.seq}" if self.seq is not None else "no link"
        return f"audit row {self.audit_id} ({where}): {self.reason}"


@dataclass(frozen=True)
class Verdict:
    links: int
    head_seq: int | None
    head_hash: str
    broken: Broken | None

    @property
    def ok(self) -> bool:
        return self.broken is None


_CHAIN = text(
    """
    SELECT c.seq, c.audit_id, c.prev_hash, c.row_hash, a.id AS present, {columns}
    FROM audit_chain c LEFT JOIN audit_log a ON a.id = c.audit_id
    ORDER BY c.seq
    """.format(columns=", ".join(f"a.{c}" for c in CANONICAL_COLUMNS if c != "id"))
)
_UNSEALED = text(
    "SELECT a.id FROM audit_log a WHERE NOT EXISTS "
    "(SELECT 1 FROM audit_chain c WHERE c.audit_id = a.id) ORDER BY a.id LIMIT 1"
)


def check_links(links: Iterable[dict[str, Any]]) -> tuple[int, int | None, str, Broken | None]:
    """Walk the links in order: (count, head seq, head hash, the first broken link)."""
    prev, count, head_seq = GENESIS, 0, None
    for link in links:
        count += 1
        seq, audit_id = int(link["seq"]), int(link["audit_id"])
        if link["prev_hash"] != prev:
            return count, head_seq, prev, Broken(seq, audit_id, "does not follow the link before")
        if link["present"] is None:
            return count, head_seq, prev, Broken(seq, audit_id, "the row was deleted")
        row = {**link, "id": audit_id}
        if link_hash(prev, row) != link["row_hash"]:
            return count, head_seq, prev, Broken(seq, audit_id, "the row was changed")
        prev, head_seq = link["row_hash"], seq
    return count, head_seq, prev, None


# Every worker seals what the commits left, this often (seconds).
SEAL_EVERY_SECONDS = 2.0
SEAL_BATCH = 5000
_SEAL = text("SELECT audit_chain_seal_pending(:n)")


def seal_pending(conn: Connection, *, batch: int = SEAL_BATCH) -> int:
    """Seal rows whose commit found the chain's lock busy (0 if another sealer holds it)."""
    sealed = int(conn.execute(_SEAL, {"n": batch}).scalar_one())
    conn.commit()
    return sealed


def seal_job() -> Periodic:
    """The workers' periodic sealing of what the commits left."""

    async def job(maker: async_sessionmaker[AsyncSession]) -> int:
        async with transaction(maker) as session:
            return int((await session.execute(_SEAL, {"n": SEAL_BATCH})).scalar_one())

    return Periodic(name="platform.audit_seal", every=SEAL_EVERY_SECONDS, job=job)


def verify(conn: Connection) -> Verdict:
    """Check the whole chain (streamed, in batches), then that every row has a link."""
    result = conn.execution_options(yield_per=2000).execute(_CHAIN)
    try:
        count, head_seq, head, broken = check_links(dict(r) for r in result.mappings())
    finally:
        result.close()
    if broken is None:
        unsealed = conn.execute(_UNSEALED).scalar()
        if unsealed is not None:
            broken = Broken(None, int(unsealed), "the row has no link (never sealed)")
    return Verdict(links=count, head_seq=head_seq, head_hash=head, broken=broken)
