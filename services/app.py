"""The FastAPI app factory every service uses: errors, auth docs, health, readiness, metrics."""

from __future__ import annotations

import asyncio
import gc
import hmac
from collections.abc import Iterable
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

from services.calendar import preload_bank_holidays
from services.db import get_engine
from services.errors import ErrorBody, NotAuthenticated, NotFound, install_error_handlers
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


@lru_cache
def migration_head() -> str | None:
    return ScriptDirectory(str(PROJECT_ROOT / "migrations")).get_current_head()


# A load balancer polls readiness every few seconds: answer within this, whatever the database.
READINESS_TIMEOUT_SECONDS = 3.0


async def _database_state() -> tuple[bool, bool]:
    """(database answers, schema at the latest migration)."""
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
            async with get_engine().connect() as conn:
                await conn.execute(text("SELECT 1"))
                try:
                    current = await conn.execute(text("SELECT version_num FROM alembic_version"))
                except ProgrammingError:  # never migrated: no alembic_version table
                    return True, False
                return True, set(current.scalars().all()) == {migration_head()}
    except Exception as exc:
        log.warning("readiness_check_failed", error=type(exc).__name__)
        return False, False


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
        """The database answers and its schema is at the latest migration."""
        database, at_head = await _database_state()
        ready = database and at_head
        response.status_code = 200 if ready else 503
        return Readiness(
            status="ready" if ready else "not_ready", database=database, migrations_at_head=at_head
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
) -> FastAPI:
    configure_logging(get_settings())
    raw_body_paths = frozenset(raw_body_paths)
    app = FastAPI(
        title=title,
        description=description,
        version="1.0.0",
        generate_unique_id_function=operation_id,
        # Metrics are Prometheus and logs structlog (services.http): FastAPI's OpenTelemetry
        # hooks stay off, so no request pays for asking whether a provider is configured.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    install_error_handlers(app)
    app.include_router(platform_router())
    for router in routers:
        app.include_router(router)
    pages = list(pages)
    if pages:
        from services.web.app import install_pages

        install_pages(app, pages)
    app.add_middleware(PlatformMiddleware, service=service, raw_body_paths=raw_body_paths)
    app.state.service = service
    app.state.raw_body_paths = frozenset(raw_body_paths)
    _document_auth_errors(app)
    preload_bank_holidays()
    freeze_startup_heap()
    return app
