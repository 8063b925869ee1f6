"""`Annotated` dependency aliases for the notifications routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from notifications.settings import NotificationsSettings, get_notifications_settings
from services.auth import Principal, Role, require_roles

SettingsDep = Annotated[NotificationsSettings, Depends(get_notifications_settings)]
AdminUser = Annotated[Principal, Depends(require_roles(Role.admin))]
DirectoryUser = Annotated[Principal, Depends(require_roles(Role.admin, Role.school_dsl))]
SchoolUser = Annotated[Principal, Depends(require_roles(Role.school_dsl))]
PoliceFeed = Annotated[Principal, Depends(require_roles(Role.police_feed))]


def sees_school(principal: Principal, urn: str, council_id: str) -> bool:
    """Admins see every school of their council; a DSL only their own; nobody sees another
    council's (others answer 404, not 403)."""
    if council_id != principal.council_id:
        return False
    return principal.role == Role.admin or principal.school_urn == urn
