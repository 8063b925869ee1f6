"""The school directory: schools, their DSL contacts, and their webhook endpoints."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from notifications.delivery.health import disable_endpoint, enable_endpoint
from notifications.delivery.secretbox import encrypt
from notifications.dependencies import sees_school
from notifications.directory import repository
from notifications.directory.csv_import import CsvUnreadable, ParsedRow, read_csv
from notifications.directory.schemas import (
    EndpointCreate,
    EndpointRead,
    EndpointUpdate,
    ImportResult,
    ImportRowResult,
    SchoolCreate,
    SchoolRead,
    SchoolUpdate,
)
from notifications.exceptions import (
    EndpointNotFound,
    InvalidCsv,
    InvalidSchoolUpdate,
    NotEditableByRole,
    SchoolExists,
    SchoolNotFound,
    UnsafeEndpointUrl,
)
from notifications.settings import NotificationsSettings
from services import audit
from services.auth import Principal, Role
from services.errors import FieldError
from services.models.notifications import Endpoint, School
from services.webhooks.signing import generate_secret
from services.webhooks.ssrf import UnsafeUrl, check_url

SERVICE = "notifications"
DSL_EDITABLE = frozenset({"dsl_email", "deputy_email"})


def school_read(school: School) -> SchoolRead:
    return SchoolRead.model_validate(
        {
            "urn": school.urn,
            "name": school.name,
            "phase": school.phase,
            "postcode": school.postcode,
            "school_day_start": school.school_day_start,
            "terms": school.terms,
            "closure_days": school.closure_days,
            "dsl_email": school.dsl_email,
            "deputy_email": school.deputy_email,
            "delivery_preference": school.delivery_preference,
        }
    )


def endpoint_read(endpoint: Endpoint) -> EndpointRead:
    return EndpointRead(
        id=endpoint.id,
        school_urn=endpoint.school_urn,
        url=endpoint.url,
        event_types=list(endpoint.event_types),
        description=endpoint.description,
        enabled=endpoint.enabled,
        disabled_reason=endpoint.disabled_reason,
        disabled_at=endpoint.disabled_at,
        consecutive_failures=endpoint.consecutive_failures,
        failing_since=endpoint.failing_since,
        rotation_overlap_until=endpoint.previous_secret_expires_at,
        created_at=endpoint.created_at,
    )


def _columns(data: SchoolCreate | SchoolUpdate) -> dict[str, Any]:
    values = data.model_dump(mode="json", exclude_unset=True)
    for key in ("school_day_start",):
        if key in values and values[key] is not None:
            values[key] = getattr(data, key)
    return values


async def list_schools(session: AsyncSession, principal: Principal) -> Sequence[School]:
    only = None if principal.role == Role.admin else principal.school_urn
    return await repository.list_schools(session, council_id=principal.council_id, only_urn=only)


async def get_school(session: AsyncSession, principal: Principal, urn: str) -> School:
    school = await repository.get_school(session, urn)
    if school is None or not sees_school(principal, urn, school.council_id):
        raise SchoolNotFound()
    return school


async def create_school(session: AsyncSession, principal: Principal, data: SchoolCreate) -> School:
    if await repository.get_school(session, data.urn) is not None:
        raise SchoolExists()
    values = _columns(data)
    values.setdefault("terms", [])
    values.setdefault("closure_days", [])
    school = School(council_id=principal.council_id, **values)
    school.school_day_start = data.school_day_start
    session.add(school)
    await session.flush()
    await audit.record(
        session, service=SERVICE, actor=principal, action="school.create", entity_id=school.urn
    )
    return school


async def update_school(
    session: AsyncSession, principal: Principal, urn: str, data: SchoolUpdate
) -> School:
    school = await get_school(session, principal, urn)
    values = _columns(data)
    if principal.role != Role.admin and not set(values) <= DSL_EDITABLE:
        raise NotEditableByRole()
    required = {"name", "school_day_start", "terms", "closure_days", "delivery_preference"}
    nulls = [k for k in required if k in values and values[k] is None]
    if nulls:
        fields = [FieldError(path=k, reason="may not be null") for k in sorted(nulls)]
        raise InvalidSchoolUpdate(fields=fields)
    for key, value in values.items():
        setattr(school, key, value)
    if "delivery_preference" in values:
        school.preference_before_fallback = None  # the school's own choice now stands
    school.updated_at = datetime.now(UTC)
    await audit.record(
        session, service=SERVICE, actor=principal, action="school.update", entity_id=urn
    )
    return school


async def import_schools(session: AsyncSession, principal: Principal, text: str) -> ImportResult:
    try:
        missing, rows = read_csv(text)
    except CsvUnreadable as exc:
        raise InvalidCsv(str(exc)) from exc
    if missing:
        fields = [FieldError(path=c, reason="required column missing") for c in missing]
        raise InvalidCsv("The CSV lacks required columns.", fields=fields)
    valid_urns = [r.urn for r in rows if r.urn and not r.reasons]
    existing = await repository.schools_by_urn(session, valid_urns)
    results: list[ImportRowResult] = []
    for row in rows:
        results.append(_import_row(session, principal, row, existing))
    await session.flush()
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="school.import",
        entity_id=f"{len(rows)} rows",
    )
    count = {
        s: sum(r.status == s for r in results)
        for s in ("created", "updated", "rejected", "skipped")
    }
    return ImportResult(rows=results, **count)


def _import_row(
    session: AsyncSession, principal: Principal, row: ParsedRow, existing: dict[str, School]
) -> ImportRowResult:
    if row.reasons:
        return ImportRowResult(row=row.row, urn=row.urn, status="rejected", reasons=row.reasons)
    if row.closed:
        return ImportRowResult(row=row.row, urn=row.urn, status="skipped", reasons=["closed"])
    # A row without reasons has both (parse_row gives a reason for each one missing).
    assert row.urn is not None
    assert row.name is not None
    school = existing.get(row.urn)
    if school is not None and school.council_id != principal.council_id:
        # URNs are national: a school another council holds is not this council's to edit.
        reasons = ["URN is registered to another council"]
        return ImportRowResult(row=row.row, urn=row.urn, status="rejected", reasons=reasons)
    status: Literal["created", "updated"]
    if school is None:
        school = School(
            urn=row.urn, council_id=principal.council_id, terms=[], closure_days=[], name=row.name
        )
        session.add(school)
        existing[row.urn] = school
        status = "created"
    else:
        status = "updated"
    school.name, school.phase, school.postcode = row.name, row.phase, row.postcode
    return ImportRowResult(row=row.row, urn=row.urn, status=status)


async def checked_url(url: str, settings: NotificationsSettings) -> str:
    try:
        await check_url(
            url, require_https=settings.is_production, allowed=settings.allowed_networks
        )
    except UnsafeUrl as exc:
        raise UnsafeEndpointUrl(fields=[FieldError(path="url", reason=str(exc))]) from exc
    return url


async def list_endpoints(
    session: AsyncSession, principal: Principal, urn: str
) -> Sequence[Endpoint]:
    await get_school(session, principal, urn)
    return await repository.list_endpoints(session, urn)


async def create_endpoint(
    session: AsyncSession,
    principal: Principal,
    settings: NotificationsSettings,
    urn: str,
    data: EndpointCreate,
) -> tuple[Endpoint, str]:
    await get_school(session, principal, urn)
    await checked_url(data.url, settings)
    secret = generate_secret()
    endpoint = Endpoint(
        school_urn=urn,
        url=data.url,
        event_types=list(dict.fromkeys(data.event_types)),
        description=data.description,
        enabled=True,
        consecutive_failures=0,
        secret_encrypted=encrypt(settings.encryption_key, secret),
    )
    session.add(endpoint)
    await session.flush()
    await session.refresh(endpoint)
    await audit.record(
        session, service=SERVICE, actor=principal, action="endpoint.create", entity_id=endpoint.id
    )
    return endpoint, secret


async def get_endpoint(
    session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID
) -> Endpoint:
    found = await repository.get_endpoint(session, endpoint_id)
    if found is None:
        raise EndpointNotFound()
    endpoint, council_id = found
    if not sees_school(principal, endpoint.school_urn, council_id):
        raise EndpointNotFound()
    return endpoint


async def update_endpoint(
    session: AsyncSession,
    principal: Principal,
    settings: NotificationsSettings,
    endpoint_id: uuid.UUID,
    data: EndpointUpdate,
) -> Endpoint:
    endpoint = await get_endpoint(session, principal, endpoint_id)
    values = data.model_dump(exclude_unset=True)
    if values.get("url"):
        endpoint.url = await checked_url(values["url"], settings)
    if values.get("event_types"):
        endpoint.event_types = list(dict.fromkeys(values["event_types"]))
    if "description" in values:
        endpoint.description = values["description"]
    if values.get("enabled") is True and not endpoint.enabled:
        await enable_endpoint(session, endpoint)
    elif values.get("enabled") is False and endpoint.enabled:
        # As automatic disabling does: its pending alerts go by email, the school moves to
        # email if it has no other endpoint, and the council admin is told.
        reason = values.get("disabled_reason") or "disabled by the school"
        await disable_endpoint(session, settings, endpoint, reason=reason, now=datetime.now(UTC))
    await audit.record(
        session, service=SERVICE, actor=principal, action="endpoint.update", entity_id=endpoint.id
    )
    return endpoint


async def rotate_secret(
    session: AsyncSession,
    principal: Principal,
    settings: NotificationsSettings,
    endpoint_id: uuid.UUID,
    overlap_hours: int,
) -> tuple[Endpoint, str]:
    """A new secret now; the old one keeps signing too (space-separated) for the overlap."""
    endpoint = await get_endpoint(session, principal, endpoint_id)
    secret = generate_secret()
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted if overlap_hours else None
    endpoint.previous_secret_expires_at = (
        datetime.now(UTC) + timedelta(hours=overlap_hours) if overlap_hours else None
    )
    endpoint.secret_encrypted = encrypt(settings.encryption_key, secret)
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="endpoint.rotate_secret",
        entity_id=endpoint.id,
    )
    return endpoint, secret
