"""Per-force sharing configuration, per council: data, not code (defaults to the least useful
minimum). Each council's admin configures what each force lets that council's schools see;
the intake and the detail view read the configuration of the school's council (the
incident's: a feed notifies only its own council's schools)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from notifications.intake import repository
from notifications.intake.schemas import EheTaskRead, SharingConfig, SharingRead
from services import audit
from services.auth import Principal
from services.models.notifications import ForceSharing

# A force with no configuration shares only the child's name and whether they were present.
DEFAULT_SHARING = SharingConfig()
# The EHE task list answers the newest this many (a council's open tasks are far fewer).
EHE_TASKS_LIMIT = 500


async def sharing_for(session: AsyncSession, council_id: str, force_id: str) -> SharingConfig:
    """What `force_id` lets `council_id`'s schools see (the default when not configured)."""
    row = await repository.force_sharing(session, council_id, force_id)
    if row is None:
        return DEFAULT_SHARING
    return SharingConfig.model_validate(row, from_attributes=True)


async def get_sharing(session: AsyncSession, principal: Principal, force_id: str) -> SharingRead:
    row = await repository.force_sharing(session, principal.council_id, force_id)
    config = await sharing_for(session, principal.council_id, force_id)
    return SharingRead(
        force_id=force_id, updated_at=row.updated_at if row else None, **config.model_dump()
    )


async def put_sharing(
    session: AsyncSession, principal: Principal, force_id: str, data: SharingConfig
) -> SharingRead:
    """The admin's own council's configuration for the force; no other council's changes."""
    row = await repository.force_sharing(session, principal.council_id, force_id)
    if row is None:
        row = ForceSharing(council_id=principal.council_id, force_id=force_id)
        session.add(row)
    for key, value in data.model_dump().items():
        setattr(row, key, value)
    row.updated_at = datetime.now(UTC)
    await session.flush()
    await audit.record(
        session,
        service="notifications",
        actor=principal,
        action="sharing.update",
        entity_type="force_sharing",
        entity_id=force_id,
    )
    return SharingRead(force_id=force_id, updated_at=row.updated_at, **data.model_dump())


async def list_ehe_tasks(
    session: AsyncSession, *, council_id: str, status: str | None
) -> Sequence[EheTaskRead]:
    tasks = await repository.list_ehe_tasks(
        session, council_id=council_id, status=status, limit=EHE_TASKS_LIMIT
    )
    return [EheTaskRead.model_validate(t, from_attributes=True) for t in tasks]
