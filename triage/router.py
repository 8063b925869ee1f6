"""HTTP layer of triage: thin handlers over the service layer, one router per area."""

from __future__ import annotations

from fastapi import APIRouter

from triage.routers import audit, contacts, reports, rulesets

router = APIRouter()
router.include_router(contacts.router)
router.include_router(rulesets.router)
router.include_router(reports.router)
router.include_router(audit.router)
