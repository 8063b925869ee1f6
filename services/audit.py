"""The audit writer: one append-only row per read or write of a child's record.

Called inside the business transaction, so an action and its audit row commit or roll back
together. Rows name the record by id only, never by a child's details.

The row is written at once with a plain Core INSERT on the session's connection (same
transaction): an audit row is never read back through the ORM, and the unit of work's
bookkeeping (identity map, flush, `RETURNING id`) cost more CPU than the insert itself.
"""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth import Principal
from services.logging import current_request_id
from services.models.platform import AuditEntry

_INSERT = insert(AuditEntry.__table__)  # type: ignore[arg-type]


async def record(
    session: AsyncSession,
    *,
    service: str,
    actor: Principal | None,
    action: str,
    entity_type: str,
    entity_id: object,
    reason: str | None = None,
) -> None:
    """Append an audit row (`actor=None` means the service itself, e.g. a worker)."""
    connection = await session.connection()
    await connection.execute(
        _INSERT,
        {
            "service": service,
            "actor_sub": actor.sub if actor else f"system:{service}",
            "actor_role": actor.role.value if actor else "system",
            "actor_org": actor.org if actor else None,
            "action": action,
            "entity_type": entity_type,
            "entity_id": str(entity_id),
            "request_id": current_request_id(),
            "reason": reason,
        },
    )
