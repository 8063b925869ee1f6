"""The schools' pages (a DSL's notifications) and the admin's directory and delivery pages.

Each page calls the same service functions as the matching endpoint, with the same audit
rows: reading a notification's detail is audited, and a DSL of another school gets the same
"not found" the API gives. The link in every alert email lands on the detail page.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError

from notifications.alerts import service as alerts
from notifications.alerts.schemas import WelfareCheckIn
from notifications.dependencies import SettingsDep
from notifications.directory import operations
from notifications.directory import service as directory
from notifications.directory.schemas import EndpointCreate
from notifications.exceptions import WelfareCheckInvalid
from services.auth import Role
from services.db import SessionDep
from services.errors import FieldError, Unprocessable
from services.web.pages import (
    FormErrors,
    PageContext,
    form_errors,
    form_with_csrf,
    page_router,
    page_user,
    render,
    see_other,
    templates,
    unprocessable_fields,
    validation_fields,
)

TEMPLATES = templates(Path(__file__).resolve().parent / "templates")
router = page_router()
Dsl = Annotated[PageContext, Depends(page_user(Role.school_dsl))]
SchoolOrAdmin = Annotated[PageContext, Depends(page_user(Role.school_dsl, Role.admin))]
Admin = Annotated[PageContext, Depends(page_user(Role.admin))]

STATUS_TAGS = {
    "pending": ("Not yet delivered", "grey"),
    "delivered": ("New", "blue"),
    "escalated": ("Escalated", "red"),
    "acknowledged": ("Acknowledged", "yellow"),
    "welfare_checked": ("Welfare check done", "green"),
}
TEMPLATES.globals["status_tags"] = STATUS_TAGS
WELFARE_LABELS = {
    "done_at": "When the check happened",
    "done_by": "Who did it",
    "outcome": "What you found",
}
# The API's default overlap: the old secret keeps signing while the school updates its system.
ROTATION_OVERLAP_HOURS = 24
BANNERS = {
    "acknowledged": "Notification acknowledged.",
    "checked": "Welfare check recorded.",
}


def page_path(notification_id: uuid.UUID) -> str:
    """The page a DSL's email links to."""
    return f"/school/notifications/{notification_id}"


@router.get("/school/notifications")
async def school_notifications_page(session: SessionDep, ctx: SchoolOrAdmin) -> Response:
    """My school's notifications, newest first."""
    page = await alerts.list_notifications(
        session, ctx.principal, unacknowledged=False, limit=200, cursor=None
    )
    return render(
        TEMPLATES,
        "notifications.html",
        ctx,
        current="/school/notifications",
        title="Operation Encompass notifications",
        items=page.items,
    )


async def _detail_page(
    session: SessionDep,
    ctx: PageContext,
    notification_id: uuid.UUID,
    *,
    banner: str | None = None,
    errors: FormErrors | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    detail = await alerts.get_detail(session, ctx.principal, notification_id)  # audited
    return render(
        TEMPLATES,
        "notification.html",
        ctx,
        current="/school/notifications",
        title="Operation Encompass notification",
        n=detail,
        banner=banner,
        errors=errors.summary if errors else None,
        field_errors=errors.by_field if errors else {},
        form=form or {"done_by": ctx.principal.sub},
        status_code=status_code,
    )


@router.get("/school/notifications/{notification_id}")
async def school_notification_page(
    notification_id: uuid.UUID, session: SessionDep, ctx: SchoolOrAdmin, done: str | None = None
) -> Response:
    """The detail the force shares (this read is audited), with the reminder about parents."""
    return await _detail_page(session, ctx, notification_id, banner=BANNERS.get(done or ""))


@router.post("/school/notifications/{notification_id}/acknowledge")
async def acknowledge_notification(
    notification_id: uuid.UUID, request: Request, session: SessionDep, ctx: Dsl
) -> Response:
    await form_with_csrf(request, ctx)
    await alerts.acknowledge(session, ctx.principal, notification_id)
    return see_other(f"{page_path(notification_id)}?done=acknowledged")


def local_time(form: dict[str, str], zone: str) -> datetime | None:
    """The form's day, month, year and time (local, 24-hour) as an aware time; None if not one."""
    try:
        day, month, year = (int(form.get(k, "").strip()) for k in ("day", "month", "year"))
        hour, _, minute = form.get("time", "").strip().replace(".", ":").partition(":")
        naive = datetime(year, month, day, int(hour), int(minute or 0))
    except ValueError:
        return None
    return naive.replace(tzinfo=ZoneInfo(zone))


NOT_A_TIME = FieldError(
    path="done_at", reason="enter the date and the time of the check, for example 27 3 2026 09:15"
)


@router.post("/school/notifications/{notification_id}/welfare-check")
async def record_welfare_check(
    notification_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    ctx: Dsl,
    settings: SettingsDep,
) -> Response:
    """Record the welfare check; a 422 of the API is the error summary here."""
    form = await form_with_csrf(request, ctx)
    done_at = local_time(form, settings.timezone)
    raw = {
        "done_at": done_at or "",
        "done_by": form.get("done_by", "").strip(),
        "outcome": form.get("outcome", "").strip(),
    }
    try:
        body = WelfareCheckIn.model_validate(raw)
        async with session.begin_nested():
            await alerts.record_welfare_check(session, ctx.principal, notification_id, body)
    except ValidationError as exc:
        fields = [f for f in validation_fields(exc) if f.path != "done_at"]
        fields = ([] if done_at else [NOT_A_TIME]) + fields
    except WelfareCheckInvalid as exc:
        fields = unprocessable_fields(exc)
    else:
        return see_other(f"{page_path(notification_id)}?done=checked")
    errors = form_errors(fields, WELFARE_LABELS)
    return await _detail_page(
        session, ctx, notification_id, errors=errors, form=form, status_code=422
    )


# --- admin -------------------------------------------------------------------------------


@router.get("/admin/schools")
async def schools_page(session: SessionDep, ctx: Admin) -> Response:
    """The school directory: each school's DSL, deputy, channel and endpoints."""
    schools = [
        directory.school_read(s) for s in await directory.list_schools(session, ctx.principal)
    ]
    return render(
        TEMPLATES, "schools.html", ctx, current="/admin/schools", title="Schools", schools=schools
    )


async def _school_page(
    session: SessionDep,
    ctx: PageContext,
    urn: str,
    *,
    secret: str | None = None,
    banner: str | None = None,
    errors: FormErrors | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    school = directory.school_read(await directory.get_school(session, ctx.principal, urn))
    endpoints = [
        directory.endpoint_read(e)
        for e in await directory.list_endpoints(session, ctx.principal, urn)
    ]
    return render(
        TEMPLATES,
        "school.html",
        ctx,
        current="/admin/schools",
        title=school.name,
        school=school,
        endpoints=endpoints,
        secret=secret,
        banner=banner,
        errors=errors.summary if errors else None,
        field_errors=errors.by_field if errors else {},
        form=form or {},
        status_code=status_code,
    )


@router.get("/admin/schools/{urn}")
async def school_page(urn: str, session: SessionDep, ctx: Admin) -> Response:
    return await _school_page(session, ctx, urn)


@router.post("/admin/schools/{urn}/endpoints")
async def create_endpoint(
    urn: str, request: Request, session: SessionDep, ctx: Admin, settings: SettingsDep
) -> Response:
    """Register an endpoint: its signing secret is shown on this page once, never again."""
    form = await form_with_csrf(request, ctx)
    try:
        body = EndpointCreate.model_validate(
            {"url": form.get("url", "").strip(), "description": form.get("description") or None}
        )
        async with session.begin_nested():
            endpoint, secret = await directory.create_endpoint(
                session, ctx.principal, settings, urn, body
            )
    except ValidationError as exc:
        fields = validation_fields(exc)
    except Unprocessable as exc:
        fields = unprocessable_fields(exc)
    else:
        return await _school_page(
            session, ctx, urn, secret=secret, banner=f"Endpoint {endpoint.id} registered."
        )
    errors = form_errors(fields, {"url": "Endpoint URL"})
    return await _school_page(session, ctx, urn, errors=errors, form=form, status_code=422)


@router.post("/admin/endpoints/{endpoint_id}/rotate-secret")
async def rotate_secret(
    endpoint_id: uuid.UUID, request: Request, session: SessionDep, ctx: Admin, settings: SettingsDep
) -> Response:
    """A new secret (shown once); the old one keeps signing for 24 hours."""
    await form_with_csrf(request, ctx)
    endpoint, secret = await directory.rotate_secret(
        session, ctx.principal, settings, endpoint_id, 24
    )
    return await _school_page(
        session, ctx, endpoint.school_urn, secret=secret, banner="Secret rotated."
    )


@router.post("/admin/endpoints/{endpoint_id}/ping")
async def ping_endpoint(
    endpoint_id: uuid.UUID, request: Request, session: SessionDep, ctx: Admin, settings: SettingsDep
) -> Response:
    """Send a signed test event now and show what the receiver answered."""
    await form_with_csrf(request, ctx)
    endpoint = await directory.get_endpoint(session, ctx.principal, endpoint_id)
    result = await operations.ping_endpoint(session, ctx.principal, settings, endpoint_id)
    outcome = (
        f"Ping answered {result.status_code} in {result.latency_ms} ms."
        if result.success
        else f"Ping failed: {result.error or result.status_code}."
    )
    return await _school_page(session, ctx, endpoint.school_urn, banner=outcome)


@router.get("/admin/unacknowledged")
async def unacknowledged_page(session: SessionDep, ctx: Admin) -> Response:
    """Per school: open, unacknowledged, overdue, escalated, awaiting a welfare check."""
    rows = await alerts.unacknowledged_report(session, council_id=ctx.principal.council_id)
    return render(
        TEMPLATES,
        "unacknowledged.html",
        ctx,
        current="/admin/unacknowledged",
        title="Unacknowledged notifications",
        rows=rows,
        now=datetime.now(UTC),
    )
