"""The DV screening's errors (rendered by the platform's one handler)."""

from __future__ import annotations

from services.errors import Conflict


class ScreeningConflict(Conflict):
    detail = "The DV screening is not in a state that allows this."
