"""The intake's errors (rendered by the platform's one handler)."""

from __future__ import annotations

from services.errors import NotFound


class FollowUpClaimNotFound(NotFound):
    detail = "This contact has no unreconciled claim to follow up a phone contact."
