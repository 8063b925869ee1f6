"""Security headers on every response of an app that serves pages, and HTML error pages.

The Content-Security-Policy allows scripts, styles, fonts and images from our own origin only
(no inline script, no eval), forms posting only to us, and no framing; every page is
`Cache-Control: no-store`, because nearly every page shows something about a child and a
shared computer's back button must not show it to the next person.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.errors import AppError, NotFound, app_error_response, validation_error_response
from services.web.pages import PLATFORM, SignInRequired, is_page_request, render

log = structlog.get_logger(__name__)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
ASSETS_PREFIX = "/assets/"
# The vendored assets change only with a release; a day's caching saves most of a page's bytes.
ASSET_MAX_AGE = 86400


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        asset = scope["path"].startswith(ASSETS_PREFIX)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "same-origin"
                if asset:
                    headers["Cache-Control"] = f"public, max-age={ASSET_MAX_AGE}"
                else:
                    headers["Cache-Control"] = "no-store"
                if headers.get("content-type", "").startswith("text/html"):
                    headers["Content-Security-Policy"] = CSP
                    headers["X-Frame-Options"] = "DENY"
            await send(message)

        await self.app(scope, receive, send_with_headers)


TITLES = {
    401: "Sign in to continue",
    403: "You cannot do this",
    404: "Page not found",
    409: "Someone else got there first",
    422: "There is a problem",
}


def error_page(request: Request, status: int, detail: str) -> Response:
    ctx = getattr(request.state, "page_context", None)
    return render(
        PLATFORM,
        "error.html",
        ctx,
        status_code=status,
        title=TITLES.get(status, "Sorry, there is a problem with the service"),
        detail=detail,
    )


def sign_in_redirect(request: Request) -> Response:
    """To the sign-in page, then back. A refresh htmx makes in the background is told to send
    the whole page there (`HX-Redirect`), not to put the sign-in page inside the table."""
    if request.headers.get("hx-request") == "true":
        current = urlsplit(request.headers.get("hx-current-url", "/"))
        page = current.path + (f"?{current.query}" if current.query else "")
        location = f"/sign-in?next={quote(page, safe='')}"
        return Response(status_code=200, headers={"HX-Redirect": location})
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/sign-in?next={quote(target, safe='')}", status_code=303)


async def _app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    if not is_page_request(request):
        return await app_error_response(request, exc)
    if exc.status_code in (403, 404):
        # A refused page is part of the trail, as a refused API call is (its own transaction).
        from services.audit import record_refusal  # audit -> auth -> errors

        try:
            await record_refusal(request, exc.status_code)
        except Exception as error:  # the refusal still answers; the failure is logged
            log.error("refusal_audit_failed", error_type=type(error).__name__)
    return error_page(request, exc.status_code, exc.message)


async def _sign_in_required(request: Request, _: Exception) -> Response:
    return sign_in_redirect(request)


async def _validation_error(request: Request, exc: Exception) -> Response:
    if not is_page_request(request):
        return await validation_error_response(request, exc)
    # A page's path or query that does not parse (a mangled id in a link) is a page not found.
    return error_page(request, 404, NotFound.detail)


def install_page_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(SignInRequired, _sign_in_required)
    app.add_exception_handler(RequestValidationError, _validation_error)
