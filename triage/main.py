"""The triage FastAPI app factory."""

from __future__ import annotations

from fastapi import FastAPI

from services.app import create_service_app
from triage import web, web_reports
from triage.router import router

ROUTERS = [router]
# The pages (served with the platform's sign-in, assets and headers).
PAGES = [web.router, web_reports.router]
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
