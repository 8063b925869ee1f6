"""The notifications FastAPI app factory."""

from __future__ import annotations

from fastapi import FastAPI

from notifications import web
from notifications.alerts.router import router as alerts_router
from notifications.council.router import TERMS_IMPORT_PATH
from notifications.council.router import router as council_router
from notifications.directory.router import IMPORT_PATH
from notifications.directory.router import router as directory_router
from notifications.intake.router import router as intake_router
from services.app import create_service_app

# The API: the directory, intake, schools' notifications and council settings.
ROUTERS = [directory_router, intake_router, alerts_router, council_router]
# The schools' and the admin's pages (with the platform's sign-in, assets and headers).
PAGES = [web.router]
# Paths whose bodies are not JSON (the register's CSV upload).
RAW_BODY_PATHS: frozenset[str] = frozenset({IMPORT_PATH, TERMS_IMPORT_PATH})

DESCRIPTION = (
    "Operation Encompass for the council's schools: the police feed's domestic-abuse incidents "
    "become one notification per child per school, delivered by signed webhook (Standard "
    "Webhooks) and/or email before the next school day starts, with email fallback, escalation "
    "to the front-door duty manager, and an audited detail view for the school's DSL. Also the "
    "school directory: schools, DSL contacts, term dates and webhook endpoints."
)


def create_app() -> FastAPI:
    return create_service_app(
        service="notifications",
        title="frontdoor notifications API",
        description=DESCRIPTION,
        routers=ROUTERS,
        pages=PAGES,
        raw_body_paths=RAW_BODY_PATHS,
    )
