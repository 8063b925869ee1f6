"""The audit writer: one append-only row per read or write of a child's record.

Called inside the business transaction, so an action and its audit row commit or roll back
together. Rows name the record by id only, never by a child's details.

The row is written at once with a plain Core INSERT on the session's connection (same
transaction): an audit row is never read back through the ORM, and the unit of work's
bookkeeping (identity map, flush, `RETURNING id`) cost more CPU than the insert itself.
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
    await connection.execute(
        _INSERT,
        {
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
        },
    )


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
