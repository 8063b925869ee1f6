"""The FastAPI app factory every service uses: errors, auth docs, health, readiness, metrics."""

from __future__ import annotations

import asyncio
import gc
import hmac
import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

import structlog
from alembic.script import ScriptDirectory
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute

from services import __version__
from services.auth import authenticate_before_input
from services.calendar import preload_bank_holidays
from services.db import get_engine, server_capacity
from services.errors import (
    RETRY_AFTER_SECONDS,
    AppError,
    ErrorBody,
    NotAuthenticated,
    NotFound,
    app_error_response,
    install_error_handlers,
)
from services.http import PlatformMiddleware
from services.logging import configure_logging
from services.settings import get_settings

log = structlog.get_logger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    database: bool
    migrations_at_head: bool
    # False when the server has no connection slot left for an ordinary role: this process
    # may still hold pooled connections, but its next one (or its neighbours') will fail.
    connections_available: bool = True


@lru_cache
def migration_head() -> str | None:
    return ScriptDirectory(str(PROJECT_ROOT / "migrations")).get_current_head()


# A load balancer polls readiness every few seconds: answer within this, whatever the database.
READINESS_TIMEOUT_SECONDS = 3.0
# The check's own budget, leaving the rest of the 3 s for the HTTP round trip.
_CHECK_BUDGET_SECONDS = 2.5


@dataclass(frozen=True)
class DatabaseState:
    answers: bool
    at_head: bool
    connections_available: bool


_DOWN = DatabaseState(answers=False, at_head=False, connections_available=False)


async def _check_database() -> DatabaseState:
    async with get_engine().connect() as conn:
        await conn.execute(text("SELECT 1"))
        capacity = await server_capacity(conn)
        try:
            current = await conn.execute(text("SELECT version_num FROM alembic_version"))
        except ProgrammingError:  # never migrated: no alembic_version table
            return DatabaseState(True, False, capacity.available > 0)
        at_head = set(current.scalars().all()) == {migration_head()}
        return DatabaseState(True, at_head, capacity.available > 0)


def _consume(task: asyncio.Task[DatabaseState]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not log "never retrieved"


async def _database_state() -> DatabaseState:
    """The database's state, within the budget whatever the server does.

    The check runs as its own task and is abandoned (cancelled, not awaited) when the budget
    runs out: cancelling a connect to a frozen server can itself wait on that server.
    """
    task = asyncio.ensure_future(_check_database())
    task.add_done_callback(_consume)
    done, _ = await asyncio.wait({task}, timeout=_CHECK_BUDGET_SECONDS)
    if not done:
        task.cancel()
        log.warning("readiness_check_failed", error="TimeoutError")
        return _DOWN
    error = task.exception()
    if error is not None:
        log.warning("readiness_check_failed", error=type(error).__name__)
        return _DOWN
    return task.result()


def operation_id(route: APIRoute) -> str:
    """Stable operation ids: the endpoint function's name (unique across the three services)."""
    return route.name


_AUTH_RESPONSES = {
    "401": "A valid bearer token is required.",
    "403": "Your role may not do this.",
}
# What the platform itself may answer, whatever the endpoint: documented on every operation
# it applies to, with the one error body (ErrorBody), so the documents say what is returned.
_HEADER_RESPONSES = {"431": "The request's headers are too large."}
_BODY_RESPONSES = {
    "400": "The body is in no encoding JSON allows.",
    "413": "The body is too large.",
    "415": "Send the body as application/json.",
}
_INPUT_RESPONSES = {"422": "Some fields are not valid (each with its path and reason)."}
_PATH_RESPONSES = {"404": "Not found (or not yours to see)."}
# services.ratelimit: writes per caller; any request from an address with too many failed
# authentications. Health checks are never refused.
_LIMIT_RESPONSES = {"429": "Too many requests; wait the seconds in Retry-After."}
_NEVER_LIMITED = frozenset({"/healthz", "/readyz"})
# services.errors.DatabaseUnavailable: every operation that takes a token reads or writes the
# database (each read and write is audited in its transaction). The ones that take none
# (`/healthz`, static reference data) never touch it; `/readyz` documents its own 503.
_UNAVAILABLE_RESPONSES = {
    "503": "The database is unavailable: retry after Retry-After, with the same "
    "Idempotency-Key for a submission."
}
_RETRY_AFTER_HEADER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer"},
    }
}
_BODY_METHODS = frozenset({"post", "put", "patch"})
# Added by the platform middleware (services.http) to every answer.
_ANSWER_HEADERS = {
    "X-Request-Id": {"description": "The request's id (yours when you sent a plain one)."},
    "X-Content-Type-Options": {"description": "Always `nosniff`."},
    "Cache-Control": {"description": "`no-store`: answers carry children's records."},
}


def _platform_responses(path: str, method: str, operation: dict[str, Any]) -> dict[str, str]:
    wanted = dict(_HEADER_RESPONSES)
    if path not in _NEVER_LIMITED:
        wanted |= _LIMIT_RESPONSES
    parameters = operation.get("parameters", [])
    if operation.get("security"):
        wanted |= _AUTH_RESPONSES | _UNAVAILABLE_RESPONSES
    if method in _BODY_METHODS:
        wanted |= _BODY_RESPONSES | _INPUT_RESPONSES
    if parameters or "requestBody" in operation:
        wanted |= _INPUT_RESPONSES
    if any(p.get("in") == "path" for p in parameters):
        wanted |= _PATH_RESPONSES
    return wanted


def _needs_error_body(response: dict[str, Any]) -> bool:
    content = response.get("content")
    return not content or "HTTPValidationError" in json.dumps(content)


def _error_body_schemas(schemas: dict[str, Any]) -> None:
    body = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in body.pop("$defs", {}).items():
        schemas.setdefault(name, sub)
    schemas.setdefault("ErrorBody", body)
    # FastAPI's own 422 shape is never what the API answers (services.errors renders 422s).
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)


def _document_platform_errors(app: FastAPI) -> None:
    """Every operation documents what the platform may answer besides its own results: 401,
    403 and 503 (the database unavailable, with Retry-After) when it takes a token,
    413/415/400 for a body, 422 with the platform's error body (not FastAPI's), 404 on a path
    with ids, 429 (rate limits), 431 for oversized headers; and every answer's platform
    headers."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        ref = {"$ref": "#/components/schemas/ErrorBody"}
        error_content = {"application/json": {"schema": ref}}
        for path, item in schema.get("paths", {}).items():
            for method, operation in item.items():
                responses = operation["responses"]
                for status, description in _platform_responses(path, method, operation).items():
                    responses.setdefault(status, {"description": description})
                for status, response in responses.items():
                    if status[0] in "45" and _needs_error_body(response):
                        response["content"] = error_content
                    response.setdefault("headers", {}).update(_ANSWER_HEADERS)
                    if status == "503":
                        response["headers"].update(_RETRY_AFTER_HEADER)
        _error_body_schemas(schema.setdefault("components", {}).setdefault("schemas", {}))
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


# The app's own HTTP exception handlers (services.errors), as Starlette stores them.
_HttpHandler = Callable[[Request, Exception], Awaitable[Response]]


def _authenticated_first(app: FastAPI) -> None:
    """A 422 (or the 400 for a body in no known encoding) on a route that takes a token is
    answered 401 instead when the caller is not authenticated."""
    validation = cast(_HttpHandler, app.exception_handlers[RequestValidationError])
    http_error = cast(_HttpHandler, app.exception_handlers[StarletteHTTPException])

    async def checked(request: Request, exc: Exception, inner: _HttpHandler) -> Response:
        try:
            await authenticate_before_input(request)
        except AppError as refused:
            return await app_error_response(request, refused)
        return await inner(request, exc)

    async def on_validation(request: Request, exc: Exception) -> Response:
        return await checked(request, exc, validation)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code != 400:
            return await http_error(request, exc)
        return await checked(request, exc, http_error)

    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)


def platform_router() -> APIRouter:
    router = APIRouter(tags=["platform"])

    @router.get("/healthz", response_model=Health)
    async def healthz() -> Health:
        """The process is up."""
        return Health(status="ok")

    @router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
    async def readyz(response: Response) -> Readiness:
        """The database answers, has connections to spare, and is at the latest migration."""
        state = await _database_state()
        ready = state.answers and state.at_head and state.connections_available
        response.status_code = 200 if ready else 503
        if not ready:
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return Readiness(
            status="ready" if ready else "not_ready",
            database=state.answers,
            migrations_at_head=state.at_head,
            connections_available=state.connections_available,
        )

    @router.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        """Prometheus metrics: behind `METRICS_TOKEN` when one is set; off in production
        without one (volumes per route are operational information, if not personal)."""
        settings = get_settings()
        if settings.metrics_token is None:
            if settings.is_production:
                raise NotFound()
        elif not _bearer_matches(request.headers.get("authorization", ""), settings.metrics_token):
            raise NotAuthenticated("/metrics needs the METRICS_TOKEN bearer token.")
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def _bearer_matches(header: str, token: str) -> bool:
    scheme, _, offered = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(offered.encode(), token.encode())


_heap_frozen = False


def freeze_startup_heap() -> None:
    """Move what exists after start-up (modules, models, routes) out of the cyclic collector's
    reach, once per process: full collections then scan only the requests' own objects. They
    were the long tail of the intake's latency under load."""
    global _heap_frozen
    if not _heap_frozen:
        gc.collect()
        gc.freeze()
        _heap_frozen = True


def create_service_app(
    *,
    service: str,
    title: str,
    description: str,
    routers: Iterable[APIRouter],
    raw_body_paths: Iterable[str] = (),
    pages: Iterable[APIRouter] = (),
    direct_routes: Iterable[BaseRoute] = (),
) -> FastAPI:
    """The app for one service (or, from `services.combined`, all of them).

    `direct_routes` are routes that answer ahead of FastAPI's (placed first): a service's
    `DIRECT_ROUTES` in its `main.py`, today only referral_api's `POST /v1/referrals`
    (docs/adr/0003-direct-intake-route.md). They are mounted here, where every app is built,
    so `frontdoor run`, `frontdoor api` and the tests all serve the same code for them.
    """
    settings = get_settings()
    configure_logging(settings)
    raw_body_paths = frozenset(raw_body_paths)
    # Interactive docs and the schema only when configured (off in production by default):
    # they map every endpoint for whoever asks. The committed openapi/*.json are unaffected.
    docs = settings.serve_api_docs
    app = FastAPI(
        title=title,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
        description=description,
        version=__version__,
        generate_unique_id_function=operation_id,
        # Metrics are Prometheus and logs structlog (services.http): FastAPI's OpenTelemetry
        # hooks stay off, so no request pays for asking whether a provider is configured.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    install_error_handlers(app)
    _authenticated_first(app)
    app.include_router(platform_router())
    for router in routers:
        app.include_router(router)
    # First, so they answer before FastAPI's declared routes for the same paths.
    app.router.routes[:0] = list(direct_routes)
    pages = list(pages)
    if pages:
        from services.web.app import install_pages

        install_pages(app, pages)
    app.add_middleware(PlatformMiddleware, service=service, raw_body_paths=raw_body_paths)
    app.state.service = service
    app.state.raw_body_paths = frozenset(raw_body_paths)
    _document_platform_errors(app)
    preload_bank_holidays()
    freeze_startup_heap()
    return app
