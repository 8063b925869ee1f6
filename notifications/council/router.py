"""HTTP layer of the council's configuration: term dates and alert contacts (admin only)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from notifications.council import service
from notifications.council.schemas import (
    AlertContactsIn,
    AlertContactsRead,
    CouncilTermsIn,
    CouncilTermsRead,
)
from notifications.dependencies import AdminUser, SettingsDep
from notifications.exceptions import InvalidCsv, InvalidTerms
from services.db import SessionDep
from services.errors import error_responses

router = APIRouter(prefix="/v1/council", tags=["council"])

TERMS_IMPORT_PATH = "/v1/council/term-dates/import"
_CSV_BODY = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "Columns `start`, `end` (2026-09-03 or 03/09/2026) and `name`.",
    }
}


@router.get("/term-dates", response_model=CouncilTermsRead)
async def get_council_term_dates(session: SessionDep, principal: AdminUser) -> CouncilTermsRead:
    """The council's published term dates: the default for every school without its own."""
    return await service.get_terms(session, principal)


@router.put("/term-dates", response_model=CouncilTermsRead, responses=error_responses(InvalidTerms))
async def put_council_term_dates(
    session: SessionDep, principal: AdminUser, body: CouncilTermsIn
) -> CouncilTermsRead:
    """Replace the council's published term dates as a whole."""
    return await service.put_terms(session, principal, body.terms)


@router.post(
    "/term-dates/import",
    response_model=CouncilTermsRead,
    openapi_extra=_CSV_BODY,
    responses=error_responses(InvalidCsv, InvalidTerms),
)
async def import_council_term_dates(
    session: SessionDep, principal: AdminUser, request: Request
) -> CouncilTermsRead:
    """Replace the council's term dates from a CSV; every bad row is named, nothing stored."""
    try:
        text = (await request.body()).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidCsv("The CSV must be UTF-8.") from exc
    return await service.import_terms(session, principal, text)


@router.get("/alert-contacts", response_model=AlertContactsRead)
async def get_council_alert_contacts(
    session: SessionDep, principal: AdminUser, settings: SettingsDep
) -> AlertContactsRead:
    """Where the front door's breach alerts go: the council's duty team manager."""
    return await service.get_contacts(session, principal, settings)


@router.put("/alert-contacts", response_model=AlertContactsRead)
async def put_council_alert_contacts(
    session: SessionDep, principal: AdminUser, settings: SettingsDep, body: AlertContactsIn
) -> AlertContactsRead:
    """Set the council's duty team manager's address for breach alerts."""
    return await service.put_contacts(session, principal, settings, body)
