"""What every page shares: the template environment, the signed-in user, CSRF, rendering.

A service's `web.py` builds its router with `page_router()`, renders with `render()`, and
takes the user as `page_user(roles)`; a page calls the same service functions as the API.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth import Principal, Role
from services.db import SessionDep
from services.errors import AppError, FieldError, Forbidden, Unprocessable
from services.web import sessions
from services.web.settings import get_web_settings

PLATFORM_TEMPLATES = Path(__file__).resolve().parent / "templates"
PAGE_TAG = "pages"

ROLE_NAMES = {
    Role.referrer: "Referrer",
    Role.front_door_worker: "Social worker",
    Role.team_manager: "Team manager",
    Role.dv_screener: "DV screener",
    Role.police_feed: "Police feed",
    Role.school_dsl: "Designated safeguarding lead",
    Role.admin: "Admin",
    Role.mash_partner: "MASH partner",
}

# Each role's pages in the header's navigation: (text, path).
NAVIGATION: dict[Role, tuple[tuple[str, str], ...]] = {
    Role.front_door_worker: (("Queue", "/queue"), ("Search", "/search")),
    Role.team_manager: (
        ("Queue", "/queue"),
        ("Search", "/search"),
        ("Awaiting sign-off", "/sign-offs"),
        ("Reports", "/reports"),
        ("Rule sets", "/rule-sets"),
    ),
    Role.dv_screener: (("DV lane", "/queue?lane=dv_screening"),),
    Role.school_dsl: (("Notifications", "/school/notifications"),),
    Role.mash_partner: (("Checks for my agency", "/partner/checks"),),
    Role.admin: (
        ("Queue", "/queue"),
        ("Schools", "/admin/schools"),
        ("Unacknowledged", "/admin/unacknowledged"),
    ),
}
HOME = {
    Role.front_door_worker: "/queue",
    Role.team_manager: "/queue",
    Role.dv_screener: "/queue?lane=dv_screening",
    Role.school_dsl: "/school/notifications",
    Role.mash_partner: "/partner/checks",
    Role.admin: "/admin/schools",
}


def templates(*directories: Path) -> Environment:
    """A Jinja environment over a service's templates, then the platform's (base, macros)."""
    loaders = [FileSystemLoader(str(d)) for d in (*directories, PLATFORM_TEMPLATES)]
    env = Environment(
        loader=ChoiceLoader(loaders),
        # Templates change with a release, not while the process runs: no stat() of every
        # template file on every render.
        auto_reload=False,
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["role_names"] = ROLE_NAMES
    env.filters["when"] = _when
    return env


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _when(value: object, zone: str = "Europe/London") -> str:
    """A time as people at the front door read it: local, day and month, 24-hour clock."""
    if not isinstance(value, datetime):
        return "" if value is None else str(value)
    t = value.astimezone(ZoneInfo(zone))
    return f"{t.day} {_MONTHS[t.month - 1]} {t.year} {t.hour:02d}:{t.minute:02d}"


PLATFORM = templates()


class SignInRequired(Exception):
    """No live session: a page answers with a redirect to the sign-in page."""


@dataclass(frozen=True)
class PageContext:
    """The signed-in user of a page request (and the form token their forms carry)."""

    principal: Principal
    csrf_token: str
    token_hash: str


async def _signed_in(request: Request, session: SessionDep) -> PageContext:
    settings = get_web_settings()
    try:
        live = await sessions.resume(
            session, request.cookies.get(settings.cookie_name), settings=settings
        )
    except AppError as exc:  # no cookie, an ended session, claims no longer valid
        raise SignInRequired() from exc
    request.state.principal = live.principal
    return PageContext(live.principal, live.csrf_token, live.token_hash)


def page_user(*roles: Role) -> Callable[..., Coroutine[Any, Any, PageContext]]:
    """A dependency admitting a signed-in user with one of `roles` (any role if none)."""
    allowed = frozenset(roles)

    async def _check(request: Request, session: SessionDep) -> PageContext:
        ctx = await _signed_in(request, session)
        request.state.page_context = ctx
        if allowed and ctx.principal.role not in allowed:
            raise Forbidden("Your role does not use this page.")
        return ctx

    return _check


def page_router() -> APIRouter:
    """A router for pages: out of the OpenAPI document, errors rendered as pages."""
    return APIRouter(include_in_schema=False, tags=[PAGE_TAG])


def is_page_request(request: Request) -> bool:
    route = request.scope.get("route")
    return PAGE_TAG in (getattr(route, "tags", None) or ())


async def form_with_csrf(request: Request, ctx: PageContext) -> dict[str, str]:
    """The posted form, after its CSRF token is checked against the session's."""
    form = await request.form()
    data = {k: v for k, v in form.items() if isinstance(v, str)}
    offered = data.pop("csrf_token", "")
    if not hmac.compare_digest(offered.encode(), ctx.csrf_token.encode()):
        raise Forbidden("The form has expired; go back, reload the page and try again.")
    return data


def nav_for(principal: Principal | None, current: str) -> list[dict[str, Any]]:
    if principal is None:
        return []
    return [
        {"text": text, "href": href, "current": href == current}
        for text, href in NAVIGATION.get(principal.role, ())
    ]


def render(
    env: Environment,
    name: str,
    ctx: PageContext | None,
    *,
    current: str = "",
    status_code: int = 200,
    **context: object,
) -> HTMLResponse:
    principal = ctx.principal if ctx else None
    html = env.get_template(name).render(
        user=principal,
        csrf_token=ctx.csrf_token if ctx else "",
        nav=nav_for(principal, current),
        **context,
    )
    return HTMLResponse(html, status_code=status_code)


def see_other(path: str) -> RedirectResponse:
    """After a successful POST: the browser GETs the next page (no resubmission on reload)."""
    return RedirectResponse(path, status_code=303)


@dataclass(frozen=True)
class FormErrors:
    """Errors for the GOV.UK error summary and each field's inline message."""

    summary: list[dict[str, str]]
    by_field: dict[str, str]


def form_errors(
    fields: Iterable[FieldError], labels: Mapping[str, str] | None = None
) -> FormErrors:
    """The API's 422 fields (`path`, `reason`) as the error summary and inline messages."""
    labels = labels or {}
    summary: list[dict[str, str]] = []
    by_field: dict[str, str] = {}
    for f in fields:
        name = f.path.split(".")[0] if f.path else "body"
        label = labels.get(name, name.replace("_", " ").capitalize())
        text = f"{label}: {f.reason}" if name != "body" else f.reason
        by_field.setdefault(name, text)
        summary.append({"text": text, "href": f"#{name}" if name != "body" else ""})
    return FormErrors(summary, by_field)


def validation_fields(exc: ValidationError) -> list[FieldError]:
    out = []
    for e in exc.errors():
        path = ".".join(str(p) for p in e["loc"])
        reason = e["msg"].removeprefix("Value error, ")
        out.append(FieldError(path=path, reason=reason))
    return out


def unprocessable_fields(exc: Unprocessable) -> list[FieldError]:
    return exc.fields or [FieldError(path="body", reason=exc.message)]


def home_for(principal: Principal) -> str:
    return HOME.get(principal.role, "/home")


async def revoke(session: AsyncSession, ctx: PageContext) -> None:
    await sessions.revoke(session, ctx.token_hash)
