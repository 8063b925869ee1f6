"""The triage FastAPI app factory."""

from __future__ import annotations

from fastapi import FastAPI

from services.app import create_service_app
from triage.audit import router as audit
from triage.checks import router as checks
from triage.checks import web as checks_web
from triage.children import router as children
from triage.children import web as children_web
from triage.chronology import router as chronology
from triage.clocks import router as clocks
from triage.clocks import web as clocks_web
from triage.contacts import router as contacts
from triage.contacts import web as contacts_web
from triage.dv_screening import router as dv_screening
from triage.dv_screening import web as dv_screening_web
from triage.handover import router as handover
from triage.notes import router as notes
from triage.notes import web as notes_web
from triage.queue import router as queue
from triage.queue import web as queue_web
from triage.reports import router as reports
from triage.reports import web as reports_web
from triage.rulesets import router as rulesets
from triage.rulesets import web as rulesets_web
from triage.screening import router as screening
from triage.screening import web as screening_web
from triage.strategy import router as strategy
from triage.strategy import web as strategy_web

# One router per feature (each feature's router.py is HTTP only).
ROUTERS = [
    contacts.router,
    queue.router,
    dv_screening.router,
    clocks.router,
    rulesets.router,
    reports.router,
    screening.router,
    checks.router,
    strategy.router,
    notes.router,
    chronology.router,
    handover.router,
    children.router,
    audit.router,
]
# The pages (served with the platform's sign-in, assets and headers).
PAGES = [
    queue_web.router,
    contacts_web.router,
    dv_screening_web.router,
    clocks_web.router,
    reports_web.router,
    rulesets_web.router,
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
