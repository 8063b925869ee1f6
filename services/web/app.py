"""Mount the pages on a service's app: the platform's pages, the assets, headers, errors."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter, FastAPI

from services.web import routes
from services.web.security import SecurityHeaders, install_page_error_handlers


def install_pages(app: FastAPI, pages: Iterable[APIRouter]) -> None:
    app.include_router(routes.router)
    for router in pages:
        app.include_router(router)
    app.mount("/assets", routes.assets(), name="assets")
    install_page_error_handlers(app)
    app.add_middleware(SecurityHeaders)
