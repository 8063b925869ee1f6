"""Dependency aliases of the triage API."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Path
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth import Principal, Role, require_roles
from services.db import get_session
from services.types import SafeStr
from triage.queue.lanes import MANAGERS, STAFF
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


# Path parameters, each described once (the OpenAPI documents say what the id names).
ContactPath = Annotated[uuid.UUID, Path(description="The contact's id.")]
RuleSetPath = Annotated[uuid.UUID, Path(description="The rule-set version's id.")]
ClockKindPath = Annotated[
    SafeStr,
    Path(max_length=40, description="The clock's kind (e.g. `decision`, `unallocated`)."),
]
ChildPath = Annotated[uuid.UUID, Path(description="The MASH child record's id.")]
ChildLinkPath = Annotated[
    uuid.UUID, Path(description="The id of the link between a contact's subject and a child.")
]
CheckPath = Annotated[uuid.UUID, Path(description="The partner-agency check's id.")]
HandoverPath = Annotated[uuid.UUID, Path(description="The handover's id.")]
DiscussionPath = Annotated[uuid.UUID, Path(description="The strategy discussion's id.")]
ActionPath = Annotated[uuid.UUID, Path(description="The strategy discussion action's id.")]

# A session that lives until a streamed response is sent (a CSV or XML export streams after
# the handler returns; the function-scoped session has committed the audit rows by then).
StreamSession = Annotated[AsyncSession, Depends(get_session, scope="request", use_cache=False)]
