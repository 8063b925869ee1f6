"""HTTP layer of referral_api: thin handlers over service.py."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Query, Response
from pydantic import SkipValidation

from referral_api import service
from referral_api.dependencies import (
    IdempotencyKeyHeader,
    ReferencePath,
    ReferrerDep,
    SettingsDep,
)
from referral_api.exceptions import (
    AddendumInvalid,
    IdempotencyKeyInFlight,
    MarfInvalid,
    ReferralNotFound,
)
from referral_api.reference_data import reference_data
from referral_api.repository import RECEIVED_TOPIC, ListFilter
from referral_api.schemas import (
    AddendumCreate,
    AddendumRead,
    ReferenceData,
    ReferralRead,
    ReferralReceipt,
    ReferralStatus,
    ReferralSummary,
)
from referral_api.settings import get_referral_settings
from services.contracts.marf import Marf
from services.db import ConnectionDep, SessionDep
from services.errors import (
    Forbidden,
    NotAuthenticated,
    PayloadTooLarge,
    UnsupportedMediaType,
    error_responses,
)
from services.events.wakeup import wake_soon
from services.paging import CursorInvalid, Page
from services.types import QueryInt, SafeDatetime, SafeStr

router = APIRouter(prefix="/v1", tags=["referrals"])

# The bodies are documented with their models but validated in the service (with the council's
# "today", and with 422s whose paths are safe to echo), so FastAPI passes them through as JSON.
MarfBody = Annotated[Marf, SkipValidation(), Body(description="One MARF (see the examples).")]
AddendumBody = Annotated[AddendumCreate, SkipValidation(), Body()]

_AUTH_ERRORS = (NotAuthenticated, Forbidden)


# OpenAPI links: what a client (and schemathesis's stateful phase) can do with the receipt.
_RECEIPT_LINKS = {
    "GetReferral": {
        "operationId": "get_referral",
        "parameters": {"reference": "$response.body#/reference"},
        "description": "Read the referral back (status, decision, feedback).",
    },
    "AddReferralAddendum": {
        "operationId": "add_referral_addendum",
        "parameters": {"reference": "$response.body#/reference"},
        "description": "Add information to it.",
    },
}


@router.post(
    "/referrals",
    status_code=201,
    response_model=ReferralReceipt,
    responses={
        201: {"description": "Received: the reference and deadlines.", "links": _RECEIPT_LINKS},
        **error_responses(
            *_AUTH_ERRORS,
            MarfInvalid,
            IdempotencyKeyInFlight,
            PayloadTooLarge,
            UnsupportedMediaType,
        ),
    },
)
async def submit_referral(
    marf: MarfBody,
    principal: ReferrerDep,
    conn: ConnectionDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Submit a MARF: 201 with the reference, the deadlines and what happens next."""
    body: Any = marf  # the raw JSON: service.submit_referral validates it
    # The intake is one statement on an autocommit connection: stored before we answer.
    result = await service.submit_referral(
        conn,
        principal=principal,
        body=body,
        idempotency_key=idempotency_key,
        settings=get_referral_settings(),
    )
    if not result.replayed:
        wake_soon(RECEIVED_TOPIC)
    headers = {"Location": f"/v1/referrals/{result.reference}"}
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    # The receipt holds only strings, booleans and nulls: orjson writes the bytes JSONResponse
    # would, in a tenth of the time.
    return Response(
        orjson.dumps(result.body),
        status_code=result.status_code,
        headers=headers,
        media_type="application/json",
    )


@router.get(
    "/referrals",
    response_model=Page[ReferralSummary],
    responses=error_responses(*_AUTH_ERRORS, CursorInvalid),
)
async def list_referrals(
    principal: ReferrerDep,
    session: SessionDep,
    settings: SettingsDep,
    status: Annotated[list[ReferralStatus] | None, Query()] = None,
    received_from: Annotated[SafeDatetime | None, Query()] = None,
    received_to: Annotated[SafeDatetime | None, Query()] = None,
    cursor: Annotated[SafeStr | None, Query(max_length=200)] = None,
    limit: Annotated[QueryInt, Query(ge=1, description="Capped at the server's page size.")] = 25,
) -> Page[ReferralSummary]:
    """Your agency's referrals, newest first (filter by status and receipt time)."""
    flt = ListFilter(
        agency_id=principal.agency_id or "",
        council_id=principal.council_id,
        statuses=tuple(status or ()),
        received_from=received_from,
        received_to=received_to,
    )
    return await service.list_referrals(
        session, principal=principal, flt=flt, cursor=cursor, limit=limit, settings=settings
    )


@router.get(
    "/referrals/{reference}",
    response_model=ReferralRead,
    responses=error_responses(*_AUTH_ERRORS, ReferralNotFound),
)
async def get_referral(
    reference: ReferencePath, principal: ReferrerDep, session: SessionDep, settings: SettingsDep
) -> ReferralRead:
    """One of your agency's referrals: status, the front door's decision and feedback."""
    return await service.get_referral(
        session, principal=principal, reference=reference, settings=settings
    )


@router.post(
    "/referrals/{reference}/addenda",
    status_code=201,
    response_model=AddendumRead,
    responses=error_responses(
        *_AUTH_ERRORS, ReferralNotFound, AddendumInvalid, PayloadTooLarge, UnsupportedMediaType
    ),
)
async def add_referral_addendum(
    reference: ReferencePath,
    addendum: AddendumBody,
    principal: ReferrerDep,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    idempotency_key: IdempotencyKeyHeader = None,
) -> AddendumRead:
    """Add information to a submitted referral (it is appended; nothing is edited)."""
    body: Any = addendum  # the raw JSON: service.add_addendum validates it
    result = await service.add_addendum(
        session,
        principal=principal,
        reference=reference,
        body=body,
        settings=settings,
        idempotency_key=idempotency_key,
    )
    response.headers["Location"] = f"/v1/referrals/{reference}/addenda"
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return result.addendum


@router.get(
    "/referrals/{reference}/addenda",
    response_model=list[AddendumRead],
    responses=error_responses(*_AUTH_ERRORS, ReferralNotFound),
)
async def list_referral_addenda(
    reference: ReferencePath, principal: ReferrerDep, session: SessionDep, settings: SettingsDep
) -> list[AddendumRead]:
    """The addenda sent for one of your agency's referrals, oldest first."""
    return await service.list_addenda(
        session, principal=principal, reference=reference, settings=settings
    )


@router.get("/reference-data", response_model=ReferenceData)
async def get_referral_reference_data() -> ReferenceData:
    """The code lists for building a MARF: CIN codes and the product's own, with names."""
    return reference_data()
