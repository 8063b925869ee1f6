"""Who sees which lanes of the queue (least privilege by role)."""

from __future__ import annotations

from services.auth import Role
from triage.rules.model import LANES

# The police DV screening officer works only the DV lane (jointly with a social worker);
# front-door social workers and managers see every lane; other roles see nothing here.
ROLE_LANES: dict[Role, frozenset[str]] = {
    Role.front_door_worker: frozenset(LANES),
    Role.team_manager: frozenset(LANES),
    Role.admin: frozenset(LANES),
    Role.dv_screener: frozenset({"dv_screening"}),
}

STAFF = (Role.front_door_worker, Role.team_manager, Role.dv_screener, Role.admin)
MANAGERS = (Role.team_manager, Role.admin)


def lanes_for(role: Role) -> frozenset[str]:
    return ROLE_LANES.get(role, frozenset())
