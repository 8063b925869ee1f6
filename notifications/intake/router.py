"""HTTP layer of Operation Encompass intake and per-force sharing configuration."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from notifications.dependencies import AdminUser, PoliceFeed, SettingsDep
from notifications.intake import sharing
from notifications.intake.schemas import (
    BatchIn,
    BatchResult,
    EheTaskRead,
    IncidentIn,
    IncidentResult,
    SharingConfig,
    SharingRead,
)
from notifications.intake.service import IntakeContext, ingest_batch, ingest_one
from services.auth import Principal
from services.db import SessionDep
from services.types import SafeStr

router = APIRouter(prefix="/v1/encompass", tags=["operation encompass"])
ForceId = Annotated[
    SafeStr,
    Path(
        min_length=1,
        max_length=64,
        description="The police force's agency id (the `agency_id` claim of its feed's token).",
    ),
]


def _context(
    session: SessionDep,
    settings: SettingsDep,
    principal: Principal,
    source: Literal["batch", "single"],
) -> IntakeContext:
    assert principal.agency_id is not None
    return IntakeContext(
        session=session,
        settings=settings,
        council_id=principal.council_id,
        force_id=principal.agency_id,
        actor=principal,
        source=source,
    )


@router.post("/batches", response_model=BatchResult)
async def submit_encompass_batch(
    session: SessionDep, settings: SettingsDep, principal: PoliceFeed, body: BatchIn
) -> BatchResult:
    """The morning feed: a result per incident; bad items are rejected, the rest accepted."""
    return await ingest_batch(_context(session, settings, principal, "batch"), body.incidents)


@router.post("/incidents", response_model=IncidentResult)
async def submit_encompass_incident(
    session: SessionDep, settings: SettingsDep, principal: PoliceFeed, body: IncidentIn
) -> IncidentResult:
    """One incident; resubmitting the same reference and child creates nothing new."""
    return await ingest_one(_context(session, settings, principal, "single"), body)


@router.get("/forces/{force_id}/sharing", response_model=SharingRead)
async def get_force_sharing(
    session: SessionDep, principal: AdminUser, force_id: ForceId
) -> SharingRead:
    """What this force lets the admin's council's schools see (the default when not configured)."""
    return await sharing.get_sharing(session, principal, force_id)


@router.put("/forces/{force_id}/sharing", response_model=SharingRead)
async def put_force_sharing(
    session: SessionDep, principal: AdminUser, force_id: ForceId, body: SharingConfig
) -> SharingRead:
    """Set what this force lets the admin's council's schools see in the detail view (no other
    council's configuration changes)."""
    return await sharing.put_sharing(session, principal, force_id, body)


@router.get("/ehe-tasks", response_model=list[EheTaskRead])
async def list_ehe_tasks(
    session: SessionDep,
    principal: AdminUser,
    status: Literal["open", "closed"] | None = Query(None),
) -> list[EheTaskRead]:
    """Front-door tasks for children with no known school or electively home educated."""
    return list(
        await sharing.list_ehe_tasks(session, council_id=principal.council_id, status=status)
    )
