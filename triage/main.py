"""The triage FastAPI app factory."""

from __future__ import annotations

from fastapi import FastAPI

from services.app import create_service_app
from triage import web, web_reports
from triage.checks import web as checks_web
from triage.children import web as children_web
from triage.notes import web as notes_web
from triage.router import router
from triage.screening import web as screening_web
from triage.strategy import web as strategy_web

ROUTERS = [router]
# The pages (served with the platform's sign-in, assets and headers).
PAGES = [
    web.router,
    web_reports.router,
    children_web.router,
    checks_web.router,
    screening_web.router,
    notes_web.router,
    strategy_web.router,
]
# Paths whose bodies are not JSON (e.g. CSV uploads).
RAW_BODY_PATHS: frozenset[str] = frozenset()


def create_app() -> FastAPI:
    return create_service_app(
        service="triage",
        title="frontdoor triage API",
        description=(
            "The front door's triage queue: contacts from MARFs and the phone, the council's "
            "Continuum of Need rules proposing level, lane and priority with reasons, "
            "timeliness clocks, decisions with manager sign-off, feedback to referrers, "
            "DV screening and managers' reports."
        ),
        routers=ROUTERS,
        raw_body_paths=RAW_BODY_PATHS,
        pages=PAGES,
    )
