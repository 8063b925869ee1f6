"""The schools' pages (a DSL's notifications) and the admin's directory and delivery pages.

Each page calls the same service functions as the matching endpoint, with the same audit
rows: reading a notification's detail is audited, and a DSL of another school gets the same
"not found" the API gives. The link in every alert email lands on the detail page.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile as StarletteUpload

from notifications.alerts import service as alerts
from notifications.alerts.schemas import WelfareCheckIn
from notifications.council import service as council
from notifications.council.csv_import import read_terms
from notifications.council.schemas import AlertContactsIn
from notifications.dependencies import SettingsDep
from notifications.directory import operations
from notifications.directory import service as directory
from notifications.directory.schemas import (
    EndpointCreate,
    EndpointUpdate,
    RecoverRequest,
    SchoolUpdate,
)
from notifications.exceptions import InvalidCsv, WelfareCheckInvalid
from notifications.settings import NotificationsSettings
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


@router.get("/admin/schools/import")
async def import_schools_form(ctx: Admin) -> Response:
    return render(
        TEMPLATES, "schools_import.html", ctx, current="/admin/schools", title="Import schools"
    )


@router.post("/admin/schools/import")
async def import_schools(request: Request, session: SessionDep, ctx: Admin) -> Response:
    """The register's CSV, imported as `POST /v1/schools/import` does: a result per row."""
    form, data = await _form_with_file(request, ctx)
    try:
        text = _csv_text(data, form)
        async with session.begin_nested():  # a refused file leaves nothing behind
            result = await directory.import_schools(session, ctx.principal, text)
    except NoUpload:
        fields = [NO_FILE]
    except InvalidCsv as exc:
        fields = [
            FieldError(path=CSV_FIELD, reason=f"{f.path}: {f.reason}") for f in exc.fields or []
        ] or [FieldError(path=CSV_FIELD, reason=exc.message)]
    else:
        return render(
            TEMPLATES,
            "schools_import.html",
            ctx,
            current="/admin/schools",
            title="Import schools",
            result=result,
        )
    errors = form_errors(fields, TERM_LABELS)
    return render(
        TEMPLATES,
        "schools_import.html",
        ctx,
        current="/admin/schools",
        title="Import schools",
        errors=errors.summary,
        field_errors=errors.by_field,
        status_code=422,
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
async def school_page(
    urn: str, session: SessionDep, ctx: Admin, done: str | None = None
) -> Response:
    return await _school_page(session, ctx, urn, banner=SCHOOL_BANNERS.get(done or ""))


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


# --- admin: the directory's import, contacts, term dates; endpoints' log and recovery -------

CSV_FIELD = "csv"
CONTACT_LABELS = {"dsl_email": "DSL's email", "deputy_email": "Deputy's email"}
TERM_LABELS = {"terms": "Term dates", "csv": "CSV file"}
# How far back "resend what failed" looks by default: the retry schedule gives up within a day
# or two, so a week covers an outage noticed after a weekend.
RECOVER_DEFAULT_DAYS = 7
SCHOOL_BANNERS = {
    "contacts": "DSL and deputy saved: alerts go to them from now on.",
    "terms": "Term dates saved.",
    "council-terms": "The school now uses the council's term dates.",
}


class NoUpload(Exception):
    """The form carried no file and no pasted text."""


async def _form_with_file(request: Request, ctx: PageContext) -> tuple[dict[str, str], bytes]:
    """The posted form (its CSRF token checked) and the uploaded file's bytes (empty if none).

    The upload's temporary file is closed here, whatever happens next."""
    form = await request.form()
    data = b""
    try:
        upload = form.get(CSV_FIELD)
        if isinstance(upload, StarletteUpload) and upload.filename:
            data = await upload.read()
    finally:
        await form.close()
    return await form_with_csrf(request, ctx), data  # the form is parsed once, then cached


def _csv_text(data: bytes, form: dict[str, str], pasted: str = "") -> str:
    """The uploaded file's text, else the pasted text; UTF-8 only, as the API takes it."""
    if data:
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidCsv("The CSV must be UTF-8.") from exc
    text = form.get(pasted, "") if pasted else ""
    if not text.strip():
        raise NoUpload()
    return text


NO_FILE = FieldError(path=CSV_FIELD, reason="choose a CSV file")


@router.post("/admin/schools/{urn}/contacts")
async def update_school_contacts(
    urn: str, request: Request, session: SessionDep, ctx: Admin
) -> Response:
    """The DSL's and the deputy's emails, as `PATCH /v1/schools/{urn}` sets them."""
    form = await form_with_csrf(request, ctx)
    raw = {k: form.get(k, "").strip() or None for k in ("dsl_email", "deputy_email")}
    try:
        body = SchoolUpdate.model_validate(raw)
        async with session.begin_nested():
            await directory.update_school(session, ctx.principal, urn, body)
    except ValidationError as exc:
        fields = validation_fields(exc)
    except Unprocessable as exc:
        fields = unprocessable_fields(exc)
    else:
        return see_other(f"/admin/schools/{urn}?done=contacts")
    errors = form_errors(fields, CONTACT_LABELS)
    return await _school_page(session, ctx, urn, errors=errors, form=form, status_code=422)


def terms_csv(terms: list[dict[str, str]]) -> str:
    """Term dates as the CSV the forms take back (`start,end,name`)."""
    lines = ["start,end,name"]
    lines += [f"{t['start']},{t['end']},{t.get('name') or ''}".rstrip(",") for t in terms]
    return "\n".join(lines) + "\n"


def _term_fields(exc: Unprocessable) -> list[FieldError]:
    """A CSV's row errors keep their row in the message; they all belong to the one field."""
    found = exc.fields or [FieldError(path="body", reason=exc.message)]
    return [FieldError(path="terms", reason=f"{f.path}: {f.reason}") for f in found]


async def _school_terms_page(
    session: SessionDep,
    ctx: PageContext,
    urn: str,
    *,
    errors: FormErrors | None = None,
    text: str | None = None,
    banner: str | None = None,
    status_code: int = 200,
) -> Response:
    school = directory.school_read(await directory.get_school(session, ctx.principal, urn))
    council_terms = await council.get_terms(session, ctx.principal)
    own = [t.model_dump(mode="json") for t in school.terms]
    return render(
        TEMPLATES,
        "school_terms.html",
        ctx,
        current="/admin/schools",
        title=f"Term dates: {school.name}",
        school=school,
        council_terms=council_terms.terms,
        terms_text=text if text is not None else terms_csv(own) if own else "start,end\n",
        banner=banner,
        errors=errors.summary if errors else None,
        field_errors=errors.by_field if errors else {},
        status_code=status_code,
    )


@router.get("/admin/schools/{urn}/term-dates")
async def school_terms_page(
    urn: str, session: SessionDep, ctx: Admin, done: str | None = None
) -> Response:
    """The school's own term dates, or that it follows the council's."""
    return await _school_terms_page(session, ctx, urn, banner=SCHOOL_BANNERS.get(done or ""))


@router.post("/admin/schools/{urn}/term-dates")
async def replace_school_terms(
    urn: str, request: Request, session: SessionDep, ctx: Admin
) -> Response:
    """Replace the school's term dates from the pasted or uploaded CSV, as `PATCH
    /v1/schools/{urn}` with `terms` does; or clear them to follow the council's."""
    form, data = await _form_with_file(request, ctx)
    pasted = form.get("terms_csv", "")
    try:
        if form.get("use_council") == "yes":
            terms: list[dict[str, str]] = []
        else:
            parsed, row_errors = read_terms(_csv_text(data, form, "terms_csv"))
            if row_errors:
                raise InvalidCsv("Some rows of the term dates are not valid.", fields=row_errors)
            if not parsed:
                raise NoUpload()
            terms = [{"start": t.start.isoformat(), "end": t.end.isoformat()} for t in parsed]
        body = SchoolUpdate.model_validate({"terms": terms})
        async with session.begin_nested():
            await directory.update_school(session, ctx.principal, urn, body)
    except NoUpload:
        fields = [FieldError(path="terms", reason="give at least one term, or use the council's")]
    except ValidationError as exc:
        fields = validation_fields(exc)
    except Unprocessable as exc:
        fields = _term_fields(exc)
    else:
        done = "council-terms" if not terms else "terms"
        return see_other(f"/admin/schools/{urn}/term-dates?done={done}")
    errors = form_errors(fields, TERM_LABELS)
    return await _school_terms_page(session, ctx, urn, errors=errors, text=pasted, status_code=422)


# --- admin: the council's own settings -----------------------------------------------------

COUNCIL_BANNERS = {
    "terms": "The council's term dates are replaced.",
    "contacts": "Breach alerts go to the new address.",
}


async def _council_page(
    session: SessionDep,
    ctx: PageContext,
    settings: NotificationsSettings,
    *,
    errors: FormErrors | None = None,
    form: dict[str, str] | None = None,
    banner: str | None = None,
    status_code: int = 200,
) -> Response:
    terms = await council.get_terms(session, ctx.principal)
    contacts = await council.get_contacts(session, ctx.principal, settings)
    text = (form or {}).get("terms_csv")
    if text is None:
        text = terms_csv([t.model_dump(mode="json") for t in terms.terms])
    return render(
        TEMPLATES,
        "council.html",
        ctx,
        current="/admin/council",
        title="The council's settings",
        terms=terms.terms,
        contacts=contacts,
        terms_text=text,
        form=form or {},
        banner=banner,
        errors=errors.summary if errors else None,
        field_errors=errors.by_field if errors else {},
        status_code=status_code,
    )


@router.get("/admin/council")
async def council_page(
    session: SessionDep, ctx: Admin, settings: SettingsDep, done: str | None = None
) -> Response:
    """The council's term dates (every school's default) and where breach alerts go."""
    return await _council_page(session, ctx, settings, banner=COUNCIL_BANNERS.get(done or ""))


@router.post("/admin/council/term-dates")
async def replace_council_terms(
    request: Request, session: SessionDep, ctx: Admin, settings: SettingsDep
) -> Response:
    """As `POST /v1/council/term-dates/import`: every bad row named, nothing stored."""
    form, data = await _form_with_file(request, ctx)
    try:
        text = _csv_text(data, form, "terms_csv")
        async with session.begin_nested():
            await council.import_terms(session, ctx.principal, text)
    except NoUpload:
        fields = [FieldError(path="terms", reason="give the term dates, or choose a CSV file")]
    except Unprocessable as exc:
        fields = _term_fields(exc)
    else:
        return see_other("/admin/council?done=terms")
    errors = form_errors(fields, TERM_LABELS)
    return await _council_page(session, ctx, settings, errors=errors, form=form, status_code=422)


@router.post("/admin/council/alert-contacts")
async def update_council_contacts(
    request: Request, session: SessionDep, ctx: Admin, settings: SettingsDep
) -> Response:
    """As `PUT /v1/council/alert-contacts`: the duty team manager's address."""
    form = await form_with_csrf(request, ctx)
    try:
        body = AlertContactsIn.model_validate(
            {"duty_manager_email": form.get("duty_manager_email", "").strip()}
        )
        async with session.begin_nested():
            await council.put_contacts(session, ctx.principal, settings, body)
    except ValidationError as exc:
        fields = validation_fields(exc)
    else:
        return see_other("/admin/council?done=contacts")
    errors = form_errors(fields, {"duty_manager_email": "Duty team manager's email"})
    return await _council_page(session, ctx, settings, errors=errors, form=form, status_code=422)


# --- admin: an endpoint's attempts log and its recovery --------------------------------------


async def _endpoint_page(
    session: SessionDep,
    ctx: PageContext,
    settings: NotificationsSettings,
    endpoint_id: uuid.UUID,
    *,
    banner: str | None = None,
    errors: FormErrors | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    endpoint = directory.endpoint_read(
        await directory.get_endpoint(session, ctx.principal, endpoint_id)
    )
    attempts = await operations.endpoint_attempts(session, ctx.principal, endpoint_id)
    since = (endpoint.failing_since or endpoint.disabled_at) or (
        datetime.now(UTC) - timedelta(days=RECOVER_DEFAULT_DAYS)
    )
    local = since.astimezone(ZoneInfo(settings.timezone))
    defaults = {
        "day": str(local.day),
        "month": str(local.month),
        "year": str(local.year),
        "time": local.strftime("%H:%M"),
    }
    return render(
        TEMPLATES,
        "endpoint.html",
        ctx,
        current="/admin/schools",
        title="Webhook endpoint",
        endpoint=endpoint,
        attempts=attempts,
        banner=banner,
        errors=errors.summary if errors else None,
        field_errors=errors.by_field if errors else {},
        form=form or defaults,
        status_code=status_code,
    )


@router.get("/admin/endpoints/{endpoint_id}")
async def endpoint_page(
    endpoint_id: uuid.UUID,
    session: SessionDep,
    ctx: Admin,
    settings: SettingsDep,
    requeued: int | None = None,
) -> Response:
    """The endpoint's state and its recent delivery attempts (evidence; no child's details)."""
    banner = None
    if requeued is not None:
        banner = f"Recovered: {requeued} alert(s) will be sent again."
    return await _endpoint_page(session, ctx, settings, endpoint_id, banner=banner)


NOT_A_SINCE = FieldError(
    path="since", reason="enter the date and the time, for example 27 3 2026 09:15"
)


@router.post("/admin/endpoints/{endpoint_id}/recover")
async def recover_endpoint(
    endpoint_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    ctx: Admin,
    settings: SettingsDep,
) -> Response:
    """Re-enable a disabled endpoint (as `PATCH /v1/endpoints/{id}` with `enabled: true`), then
    resend what failed since the given time (as `POST /v1/endpoints/{id}/recover`)."""
    form = await form_with_csrf(request, ctx)
    since = local_time(form, settings.timezone)
    try:
        body = RecoverRequest.model_validate({"since": since or ""})
        async with session.begin_nested():
            endpoint = await directory.get_endpoint(session, ctx.principal, endpoint_id)
            if not endpoint.enabled:
                await directory.update_endpoint(
                    session, ctx.principal, settings, endpoint_id, EndpointUpdate(enabled=True)
                )
            count = await operations.recover_endpoint(
                session, ctx.principal, settings, endpoint_id, body.since
            )
    except ValidationError as exc:
        fields = [f for f in validation_fields(exc) if f.path != "since"]
        fields = ([] if since else [NOT_A_SINCE]) + fields
    else:
        return see_other(f"/admin/endpoints/{endpoint_id}?requeued={count}")
    errors = form_errors(fields, {"since": "Resend what failed since"})
    return await _endpoint_page(
        session, ctx, settings, endpoint_id, errors=errors, form=form, status_code=422
    )
