"""Every ORM model, registered in one place so Alembic sees the whole schema."""

from services.models import notifications, platform, referral, triage, web
from services.models.base import Base

metadata = Base.metadata

__all__ = ["Base", "metadata", "notifications", "platform", "referral", "triage", "web"]
