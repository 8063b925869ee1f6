"""Every ORM model, registered in one place so Alembic sees the whole schema."""

from services.models import mash, notifications, platform, referral, triage
from services.models.base import Base

metadata = Base.metadata

__all__ = ["Base", "mash", "metadata", "notifications", "platform", "referral", "triage"]
