"""Every ORM model, registered in one place so Alembic sees the whole schema."""

from services.models import (
    mash,
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
    "mash",
    "metadata",
    "notifications",
    "notifications_extra",
    "platform",
    "referral",
    "triage",
    "triage_reports",
    "web",
]
