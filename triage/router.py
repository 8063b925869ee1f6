"""HTTP layer of triage: thin handlers over the service layer, one router per area."""

from __future__ import annotations

from fastapi import APIRouter

from triage.checks import router as checks
from triage.children import router as children
from triage.chronology import router as chronology
from triage.handover import router as handover
from triage.notes import router as notes
from triage.reports import router as management_information
from triage.routers import audit, contacts, reports, rulesets
from triage.screening import router as screening
from triage.strategy import router as strategy

router = APIRouter()
router.include_router(contacts.router)
router.include_router(rulesets.router)
router.include_router(reports.router)
router.include_router(management_information.router)
router.include_router(screening.router)
router.include_router(checks.router)
router.include_router(strategy.router)
router.include_router(notes.router)
router.include_router(chronology.router)
router.include_router(handover.router)
router.include_router(children.router)
router.include_router(audit.router)
