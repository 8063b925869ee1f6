"""The FastAPI app factory every service uses: errors, auth docs, health, readiness, metrics."""

from __future__ import annotations

import asyncio
import gc
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import structlog
from alembic.script import ScriptDirectory
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.routing import APIRoute
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from services import __version__
from services.calendar import preload_bank_holidays
from services.db import get_engine, server_capacity
from services.errors import (
    RETRY_AFTER_SECONDS,
    ErrorBody,
    NotAuthenticated,
    NotFound,
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


def _document_auth_errors(app: FastAPI) -> None:
    """Every operation that takes a bearer token documents its 401 and 403 bodies."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        ref = {"$ref": "#/components/schemas/ErrorBody"}
        needed = False
        for item in schema.get("paths", {}).values():
            for operation in item.values():
                if not operation.get("security"):
                    continue
                for status, description in _AUTH_RESPONSES.items():
                    operation["responses"].setdefault(
                        status,
                        {
                            "description": description,
                            "content": {"application/json": {"schema": ref}},
                        },
                    )
                    needed = True
        if needed:
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            schemas.setdefault(
                "ErrorBody",
                ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}"),
            )
            for name, sub in (
                ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
                .get("$defs", {})
                .items()
            ):
                schemas.setdefault(name, sub)
            schemas["ErrorBody"].pop("$defs", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


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
) -> FastAPI:
    configure_logging(get_settings())
    raw_body_paths = frozenset(raw_body_paths)
    app = FastAPI(
        title=title,
        description=description,
        version=__version__,
        generate_unique_id_function=operation_id,
        # Metrics are Prometheus and logs structlog (services.http): FastAPI's OpenTelemetry
        # hooks stay off, so no request pays for asking whether a provider is configured.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    install_error_handlers(app)
    app.include_router(platform_router())
    for router in routers:
        app.include_router(router)
    app.add_middleware(PlatformMiddleware, service=service, raw_body_paths=raw_body_paths)
    app.state.service = service
    app.state.raw_body_paths = frozenset(raw_body_paths)
    _document_auth_errors(app)
    preload_bank_holidays()
    freeze_startup_heap()
    return app
