"""HTTP layer of notifications: the directory, intake and schools' routers, thin over services."""

from __future__ import annotations

from notifications.alerts.router import router as alerts_router
from notifications.council.router import router as council_router
from notifications.directory.router import router as directory_router
from notifications.intake.router import router as intake_router

ROUTERS = [directory_router, intake_router, alerts_router, council_router]
