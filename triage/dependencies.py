"""Dependency aliases of the triage API."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.auth import Principal, Role, require_roles
from triage.access import MANAGERS, STAFF
from triage.settings import TriageSettings, get_triage_settings

StaffUser = Annotated[Principal, Depends(require_roles(*STAFF))]
ManagerUser = Annotated[Principal, Depends(require_roles(*MANAGERS))]
SignOffUser = Annotated[Principal, Depends(require_roles(Role.team_manager))]
DeciderUser = Annotated[
    Principal, Depends(require_roles(Role.front_door_worker, Role.team_manager))
]
ScreenerUser = Annotated[
    Principal, Depends(require_roles(Role.dv_screener, Role.front_door_worker))
]


async def triage_settings() -> TriageSettings:
    # async: a plain function dependency would be run in a worker thread on every request.
    return get_triage_settings()


TriageSettingsDep = Annotated[TriageSettings, Depends(triage_settings)]
