"""Bodies of the clock endpoints: pause, and the assessment or ICPC met (the clock's read is
`ClockRead`, part of the contact's read)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import field_validator

from services.types import SafeDatetime
from triage.contacts.schemas import FUTURE_SLACK, LongText, _In


class ClockPause(_In):
    reason: LongText


RecordedClock = Literal["assessment", "icpc"]


class ClockMet(_In):
    """The assessment was authorised / the ICPC was held, at `met_at` (default: now)."""

    met_at: SafeDatetime | None = None

    @field_validator("met_at")
    @classmethod
    def _not_in_the_future(cls, value: datetime | None) -> datetime | None:
        if value is not None and value > datetime.now(UTC) + FUTURE_SLACK:
            raise ValueError("is in the future")
        return value
