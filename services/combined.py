"""One ASGI app serving all three services on one port (paths are unique across them)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from starlette.routing import BaseRoute

from services.app import create_service_app
from services.registry import SERVICES, load, load_or


def create_combined_app() -> FastAPI:
    routers: list[list[APIRouter]] = [load(f"{name}.main:ROUTERS") for name in SERVICES]
    raw_paths = {path for name in SERVICES for path in load(f"{name}.main:RAW_BODY_PATHS")}
    pages = [r for name in SERVICES for r in load(f"{name}.main:PAGES")]
    # The same direct routes each service's own app mounts (referral_api's intake route).
    direct: list[BaseRoute] = [
        r for name in SERVICES for r in load_or(f"{name}.main:DIRECT_ROUTES", ())
    ]
    return create_service_app(
        service="frontdoor",
        title="frontdoor (all services)",
        description="The referral, triage and notification APIs served together on one port.",
        routers=[r for group in routers for r in group],
        raw_body_paths=raw_paths,
        pages=pages,
        direct_routes=direct,
    )
