"""The audit writer: one append-only row per read or write of a child's record.

Called inside the business transaction, so an action and its audit row commit or roll back
together. Rows name the record by id only, never by a child's details.

The row is written at once with a plain Core INSERT on the session's connection (same
transaction): an audit row is never read back through the ORM, and the unit of work's
bookkeeping (identity map, flush, `RETURNING id`) cost more CPU than the insert itself.

A hot path that is one SQL statement (the MARF intake, ADR 0002) writes the same row with
`audit_cte` and `audit_params`: the columns and their values stay defined here, once.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import Request
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth import Principal
from services.db import get_session, transaction
from services.logging import current_request_id
from services.models.platform import AuditEntry

_INSERT = insert(AuditEntry.__table__)  # type: ignore[arg-type]

# The columns an audit row is written with (the rest are the database's: id, occurred_at,
# and the chain columns services.audit_chain fills). All are text.
AUDIT_COLUMNS = (
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


def _row(
    *,
    service: str,
    actor: Principal | None,
    action: str,
    entity_id: object,
    entity_type: str | None,
    reason: str | None,
    council_id: str | None,
) -> dict[str, str | None]:
    return {
        "council_id": actor.council_id if actor else council_id,
        "service": service,
        "actor_sub": actor.sub if actor else f"system:{service}",
        "actor_role": actor.role.value if actor else "system",
        "actor_org": actor.org if actor else None,
        "action": action,
        "entity_type": entity_type or entity_type_of(action),
        "entity_id": str(entity_id),
        "request_id": current_request_id(),
        "reason": reason,
    }


def audit_cte(name: str, *, source: str, entity_id_sql: str) -> str:
    """`<name> AS (INSERT INTO audit_log ...)`: the row `record` writes, as one CTE of a
    bigger statement, once per row of `source` (a CTE of that statement). Its values are the
    binds `audit_params` gives (`:audit_<column>`), except the entity id, which is the SQL
    expression `entity_id_sql` (an id the statement itself makes, say)."""
    values = [
        entity_id_sql if column == "entity_id" else f"CAST(:audit_{column} AS text)"
        for column in AUDIT_COLUMNS
    ]
    return (
        f"{name} AS (\n    INSERT INTO audit_log ({', '.join(AUDIT_COLUMNS)})\n"
        f"    SELECT {', '.join(values)}\n    FROM {source}\n)"
    )


def audit_params(
    *,
    service: str,
    actor: Principal | None,
    action: str,
    entity_type: str | None = None,
    reason: str | None = None,
    council_id: str | None = None,
) -> dict[str, str | None]:
    """The binds of `audit_cte`: what `record` would write, keyed `audit_<column>`."""
    row = _row(
        service=service,
        actor=actor,
        action=action,
        entity_id="",
        entity_type=entity_type,
        reason=reason,
        council_id=council_id,
    )
    del row["entity_id"]
    return {f"audit_{column}": value for column, value in row.items()}


async def record(
    session: AsyncSession,
    *,
    service: str,
    actor: Principal | None,
    action: str,
    entity_id: object,
    entity_type: str | None = None,
    reason: str | None = None,
    council_id: str | None = None,
) -> None:
    """Append an audit row (`actor=None` means the service itself, e.g. a worker, which
    names the record's council). The entity type defaults to the action's first word
    (`"school.update"` audits a `school`), the convention every action name follows."""
    connection = await session.connection()
    row = _row(
        service=service,
        actor=actor,
        action=action,
        entity_id=entity_id,
        entity_type=entity_type,
        reason=reason,
        council_id=council_id,
    )
    await connection.execute(_INSERT, row)


def entity_type_of(action: str) -> str:
    """The record type an action names: `"notification.read"` -> `"notification"`."""
    return action.partition(".")[0]


async def record_many(
    session: AsyncSession,
    *,
    service: str,
    actor: Principal,
    action: str,
    entity_type: str,
    entity_ids: list[object],
) -> None:
    """One row per record in one statement (a page of a list: each record it showed)."""
    if not entity_ids:
        return
    common = {
        "council_id": actor.council_id,
        "service": service,
        "actor_sub": actor.sub,
        "actor_role": actor.role.value,
        "actor_org": actor.org,
        "action": action,
        "entity_type": entity_type,
        "request_id": current_request_id(),
        "reason": None,
    }
    connection = await session.connection()
    await connection.execute(_INSERT, [{**common, "entity_id": str(e)} for e in entity_ids])


# A refused read is part of the trail: who tried to reach which record and was told no.
REFUSED_STATUSES = frozenset({403, 404})
_ENTITY_ID_MAX = 64


async def record_refusal(request: Request, status_code: int) -> None:
    """Audit a 403 or 404 answered to an authenticated caller, in a transaction of its own
    (the request's was rolled back with the error). The record is named by the route's
    template and the id in the path, as the caller sent it (never a body)."""
    principal = getattr(request.state, "principal", None)
    if status_code not in REFUSED_STATUSES or not isinstance(principal, Principal):
        return
    template = str(getattr(request.scope.get("route"), "path", "unmatched"))
    values = [str(v) for v in request.path_params.values()]
    service = str(getattr(request.app.state, "service", "platform"))
    async with _refusal_session(request) as session:
        await record(
            session,
            service=service[:32],
            actor=principal,
            action="access.refused",
            entity_type="route",
            entity_id=(values[0] if values else template)[:_ENTITY_ID_MAX],
            reason=f"{status_code} {request.method} {template}"[:500],
        )


def _refusal_session(request: Request) -> AbstractAsyncContextManager[AsyncSession]:
    """A transaction of its own; the app's session override when it has one (the tests')."""
    override = request.app.dependency_overrides.get(get_session)
    if override is not None:
        return asynccontextmanager(override)()
    return transaction()
