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


def sees_school(principal: Principal, urn: str) -> bool:
    """Admins see every school; a DSL only their own (others answer 404, not 403)."""
    return principal.role == Role.admin or principal.school_urn == urn
