"""The clocks' errors (rendered by the platform's one handler)."""

from __future__ import annotations

from services.errors import Conflict, NotFound, Unprocessable


class ClockNotFound(NotFound):
    detail = "No such clock on this contact."


class ClockStateConflict(Conflict):
    detail = "The clock is not in a state that allows this."


class ClockMetInvalid(Unprocessable):
    detail = "The time the clock was met is not valid."
