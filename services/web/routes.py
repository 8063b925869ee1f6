"""The platform's own pages: sign-in (demo identities in development, OIDC), sign-out, home."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp

from services.auth import Principal, Role
from services.db import SessionDep
from services.errors import Forbidden, NotFound
from services.web import oidc, sessions
from services.web.pages import (
    PLATFORM,
    PageContext,
    form_with_csrf,
    home_for,
    page_router,
    page_user,
    render,
    see_other,
)
from services.web.settings import WebSettings, get_web_settings

STATIC_DIR = oidc.HERE / "static"
SIGN_IN_CSRF_COOKIE = "frontdoor_sign_in"

# The demo identities of the development sign-in page: the printed tokens' principals, plus a
# DSL of a second school (to see that one school never sees another's notifications).
DEMO_IDENTITIES: dict[str, tuple[str, Principal]] = {
    "social-worker": (
        "Front-door social worker",
        Principal(sub="demo-social-worker", role=Role.front_door_worker),
    ),
    "team-manager": ("Team manager", Principal(sub="demo-team-manager", role=Role.team_manager)),
    "dv-screener": (
        "Police DV screening officer",
        Principal(sub="demo-dv-screener", role=Role.dv_screener, agency_id="west-yorkshire-police"),
    ),
    "dsl": (
        "DSL, Low Moor C of E Primary (107301)",
        Principal(sub="demo-dsl", role=Role.school_dsl, school_urn="107301"),
    ),
    "dsl-other": (
        "DSL, Horton Park Primary (107302)",
        Principal(sub="demo-dsl-horton", role=Role.school_dsl, school_urn="107302"),
    ),
    "admin": ("Council admin", Principal(sub="demo-admin", role=Role.admin)),
    # A co-located MASH partner of an agency the demo council lists for checks (the default
    # list: police, health, education, probation, housing, adult services).
    "mash-partner": (
        "MASH partner, health",
        Principal(sub="demo-health-partner", role=Role.mash_partner, agency_id="health"),
    ),
}

router = page_router()
WebSettingsDep = Annotated[WebSettings, Depends(get_web_settings)]


def safe_next(value: str | None) -> str:
    """Only a path on this site: never an open redirect to somewhere else."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value[:500]
    return "/"


def _set_session_cookie(response: Response, token: str, settings: WebSettings) -> None:
    response.set_cookie(
        settings.cookie_name,
        token,
        max_age=int(settings.session_lifetime_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )


@router.get("/sign-in")
async def sign_in_page(
    request: Request, settings: WebSettingsDep, next: str | None = None
) -> Response:
    """The sign-in page: the identity provider's button, and in development the demo list."""
    token = request.cookies.get(SIGN_IN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    demo = [
        {"key": key, "label": label, "hint": f"{p.sub}" + (f", {p.org}" if p.org else "")}
        for key, (label, p) in DEMO_IDENTITIES.items()
    ]
    response = render(
        PLATFORM,
        "sign_in.html",
        None,
        title="Sign in",
        demo=demo if settings.dev_sign_in else [],
        oidc=bool(settings.oidc_issuer),
        next=safe_next(next),
        sign_in_csrf=token,
    )
    response.set_cookie(
        SIGN_IN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )
    return response


@router.post("/sign-in")
async def sign_in_as_demo_identity(
    request: Request, session: SessionDep, settings: WebSettingsDep
) -> Response:
    """Development only: start a session as one of the demo identities."""
    if not settings.dev_sign_in:
        raise NotFound()
    form = await request.form()
    offered, expected = str(form.get("csrf_token", "")), request.cookies.get(SIGN_IN_CSRF_COOKIE)
    if not expected or not hmac.compare_digest(offered.encode(), expected.encode()):
        raise Forbidden("The sign-in form has expired; reload the page and try again.")
    chosen = DEMO_IDENTITIES.get(str(form.get("identity", "")))
    if chosen is None:
        raise NotFound("There is no such demo identity.")
    token = await sessions.start(session, chosen[1], method="dev", settings=settings)
    response = see_other(safe_next(str(form.get("next", "")) or None))
    _set_session_cookie(response, token, settings)
    response.delete_cookie(SIGN_IN_CSRF_COOKIE)
    return response


@router.get("/sign-in/oidc")
async def sign_in_with_identity_provider(
    session: SessionDep, settings: WebSettingsDep, next: str | None = None
) -> Response:
    """Send the browser to the council's identity provider (authorization code with PKCE)."""
    if not settings.oidc_issuer:
        raise NotFound()
    url = await oidc.begin(session, settings, next_path=safe_next(next))
    return RedirectResponse(url, status_code=303)


@router.get("/sign-in/callback")
async def identity_provider_callback(
    request: Request, session: SessionDep, settings: WebSettingsDep
) -> Response:
    """The identity provider sends the browser back here with the code."""
    if not settings.oidc_issuer:
        raise NotFound()
    principal, next_path = await oidc.finish(session, settings, dict(request.query_params))
    token = await sessions.start(session, principal, method="oidc", settings=settings)
    response = see_other(next_path)
    _set_session_cookie(response, token, settings)
    return response


SignedInPage = Annotated[PageContext, Depends(page_user())]


@router.post("/sign-out")
async def sign_out(
    request: Request, session: SessionDep, ctx: SignedInPage, settings: WebSettingsDep
) -> Response:
    """End this session (its row is revoked: the cookie no longer works anywhere)."""
    await form_with_csrf(request, ctx)
    await sessions.revoke(session, ctx.token_hash)
    response = see_other("/sign-in")
    response.delete_cookie(settings.cookie_name, path="/")
    return response


@router.get("/")
async def start_page(ctx: SignedInPage) -> Response:
    """Each role's start page."""
    return see_other(home_for(ctx.principal))


@router.get("/home")
async def home_page(ctx: SignedInPage) -> Response:
    """Roles without pages of their own (referrers, the police feed) use the API."""
    return render(
        PLATFORM,
        "home.html",
        ctx,
        title="Front door",
        message="Your role works through the API: see /docs for its endpoints.",
    )


# The CSS and JS compress to an eighth of their size; fonts and images are compressed already.
GZIP_MINIMUM_BYTES = 1024


def assets() -> ASGIApp:
    """The vendored assets, gzip-compressed for browsers that accept it."""
    return GZipMiddleware(StaticFiles(directory=STATIC_DIR), minimum_size=GZIP_MINIMUM_BYTES)
