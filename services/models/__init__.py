"""Every ORM model, registered in one place so Alembic sees the whole schema."""

from services.models import (
    notifications,
    notifications_extra,
    platform,
    referral,
    triage,
    triage_reports,
    web,
)
from services.models.base import Base

metadata = Base.metadata

__all__ = [
    "Base",
    "metadata",
    "notifications",
    "notifications_extra",
    "platform",
    "referral",
    "triage",
    "triage_reports",
    "web",
]
