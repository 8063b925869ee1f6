"""HTTP layer of the school directory: schools, contacts, webhook endpoints."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Request, status

from notifications.dependencies import AdminUser, DirectoryUser, SettingsDep
from notifications.directory import operations, service
from notifications.directory.schemas import (
    URN_PATTERN,
    EndpointCreate,
    EndpointRead,
    EndpointUpdate,
    EndpointWithSecret,
    ImportResult,
    PingResult,
    RecoverRequest,
    RecoverResult,
    RotateSecret,
    SchoolCreate,
    SchoolRead,
    SchoolUpdate,
)
from notifications.exceptions import (
    EndpointDisabled,
    EndpointNotFound,
    InvalidCsv,
    NotEditableByRole,
    SchoolExists,
    SchoolNotFound,
    UnsafeEndpointUrl,
)
from services.db import SessionDep
from services.errors import error_responses

UrnPath = Annotated[
    str,
    Path(
        pattern=URN_PATTERN,
        examples=["107301"],
        description="The school's unique reference number (URN) in the national register.",
    ),
]
EndpointId = Annotated[
    uuid.UUID, Path(description="The webhook endpoint's id (from the school's endpoint list).")
]

router = APIRouter(prefix="/v1", tags=["school directory"])

IMPORT_PATH = "/v1/schools/import"
_CSV_BODY = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "The national register's CSV: URN, EstablishmentName, "
        "PhaseOfEducation (name), Postcode, EstablishmentStatus (name)...",
    }
}


@router.get("/schools", response_model=list[SchoolRead])
async def list_schools(session: SessionDep, principal: DirectoryUser) -> list[SchoolRead]:
    """Schools in the directory (a DSL sees only their own school)."""
    return [service.school_read(s) for s in await service.list_schools(session, principal)]


@router.post(
    "/schools",
    response_model=SchoolRead,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(SchoolExists),
)
async def create_school(
    session: SessionDep, principal: AdminUser, body: SchoolCreate
) -> SchoolRead:
    """Add a school to the directory."""
    return service.school_read(await service.create_school(session, principal, body))


@router.post(
    "/schools/import",
    response_model=ImportResult,
    openapi_extra=_CSV_BODY,
    responses=error_responses(InvalidCsv),
)
async def import_schools(
    session: SessionDep, principal: AdminUser, request: Request
) -> ImportResult:
    """Create or update schools from a national register CSV; a result for every row."""
    try:
        text = (await request.body()).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidCsv("The CSV must be UTF-8.") from exc
    return await service.import_schools(session, principal, text)


@router.get("/schools/{urn}", response_model=SchoolRead, responses=error_responses(SchoolNotFound))
async def get_school(session: SessionDep, principal: DirectoryUser, urn: UrnPath) -> SchoolRead:
    """One school with its DSL contacts and calendar."""
    return service.school_read(await service.get_school(session, principal, urn))


@router.patch(
    "/schools/{urn}",
    response_model=SchoolRead,
    responses=error_responses(SchoolNotFound, NotEditableByRole),
)
async def update_school(
    session: SessionDep, principal: DirectoryUser, urn: UrnPath, body: SchoolUpdate
) -> SchoolRead:
    """Change a school (a DSL may change only the DSL and deputy emails)."""
    return service.school_read(await service.update_school(session, principal, urn, body))


@router.get(
    "/schools/{urn}/endpoints",
    response_model=list[EndpointRead],
    responses=error_responses(SchoolNotFound),
)
async def list_school_endpoints(
    session: SessionDep, principal: DirectoryUser, urn: UrnPath
) -> list[EndpointRead]:
    """A school's webhook endpoints (secrets are never shown again)."""
    return [service.endpoint_read(e) for e in await service.list_endpoints(session, principal, urn)]


@router.post(
    "/schools/{urn}/endpoints",
    response_model=EndpointWithSecret,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(SchoolNotFound, UnsafeEndpointUrl),
)
async def create_school_endpoint(
    session: SessionDep,
    principal: DirectoryUser,
    settings: SettingsDep,
    urn: UrnPath,
    body: EndpointCreate,
) -> EndpointWithSecret:
    """Register a webhook endpoint; the signing secret is in this response only."""
    endpoint, secret = await service.create_endpoint(session, principal, settings, urn, body)
    return EndpointWithSecret(**service.endpoint_read(endpoint).model_dump(), secret=secret)


@router.patch(
    "/endpoints/{endpoint_id}",
    response_model=EndpointRead,
    responses=error_responses(EndpointNotFound, UnsafeEndpointUrl),
)
async def update_endpoint(
    session: SessionDep,
    principal: DirectoryUser,
    settings: SettingsDep,
    endpoint_id: EndpointId,
    body: EndpointUpdate,
) -> EndpointRead:
    """Change an endpoint's URL or event types, or enable/disable it (with a reason)."""
    endpoint = await service.update_endpoint(session, principal, settings, endpoint_id, body)
    return service.endpoint_read(endpoint)


@router.post(
    "/endpoints/{endpoint_id}/rotate-secret",
    response_model=EndpointWithSecret,
    responses=error_responses(EndpointNotFound),
)
async def rotate_endpoint_secret(
    session: SessionDep,
    principal: DirectoryUser,
    settings: SettingsDep,
    endpoint_id: EndpointId,
    body: RotateSecret,
) -> EndpointWithSecret:
    """New secret now; both signatures are sent during the overlap (space-separated)."""
    endpoint, secret = await service.rotate_secret(
        session, principal, settings, endpoint_id, body.overlap_hours
    )
    return EndpointWithSecret(**service.endpoint_read(endpoint).model_dump(), secret=secret)


@router.post(
    "/endpoints/{endpoint_id}/ping",
    response_model=PingResult,
    responses=error_responses(EndpointNotFound),
)
async def ping_endpoint(
    session: SessionDep, principal: DirectoryUser, settings: SettingsDep, endpoint_id: EndpointId
) -> PingResult:
    """Send a signed test event now and report what the receiver answered."""
    return await operations.ping_endpoint(session, principal, settings, endpoint_id)


@router.post(
    "/endpoints/{endpoint_id}/recover",
    response_model=RecoverResult,
    responses=error_responses(EndpointNotFound, EndpointDisabled),
)
async def recover_endpoint(
    session: SessionDep,
    principal: AdminUser,
    settings: SettingsDep,
    endpoint_id: EndpointId,
    body: RecoverRequest,
) -> RecoverResult:
    """Resend every alert to this endpoint that failed since the given time."""
    count = await operations.recover_endpoint(session, principal, settings, endpoint_id, body.since)
    return RecoverResult(requeued=count)
