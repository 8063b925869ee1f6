"""Clock arithmetic (pure): when each timeliness clock falls due and when it warns.

Hour clocks are plain elapsed hours in UTC (DST neither lost nor doubled); working-day
clocks use the council's calendar and its working-day rule (`same_time` or `end_of_day`).
Sources of the figures: docs/domain.md, "The clocks" (Working Together, Bradford and
Birmingham audits).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from services.calendar import WorkingCalendar

ClockKind = Literal[
    "written_follow_up",
    "decision",
    "completed_24h",
    "all_contacts_48h",
    "feedback",
    "unallocated",
    "assessment",
    "icpc",
]


@dataclass(frozen=True)
class ClockRule:
    unit: Literal["hours", "working_days"]
    amount: int
    meaning: str


CLOCK_RULES: dict[str, ClockRule] = {
    "written_follow_up": ClockRule("hours", 24, "phone referral followed up in writing"),
    "decision": ClockRule("working_days", 1, "front-door decision and acknowledgement"),
    "completed_24h": ClockRule("hours", 24, "contact completed within 24 hours"),
    "all_contacts_48h": ClockRule("hours", 48, "every contact processed within 48 hours"),
    "feedback": ClockRule("working_days", 1, "feedback to the referrer after the decision"),
    "unallocated": ClockRule("hours", 7 * 24, "an allocated worker within 7 days"),
    "assessment": ClockRule("working_days", 45, "assessment authorised from the referral"),
    "icpc": ClockRule("working_days", 15, "conference after the strategy discussion"),
}

# Clocks longer than this warn days ahead rather than hours ahead.
LONG_CLOCK = timedelta(days=5)


def deadline(
    kind: str, start: datetime, calendar: WorkingCalendar, amount: int | None = None
) -> datetime:
    """When a clock of `kind` started at `start` falls due (`amount` overrides the rule's)."""
    rule = CLOCK_RULES[kind]
    n = rule.amount if amount is None else amount
    if rule.unit == "hours":
        return calendar.add_hours(start, n)
    return calendar.add_working_days(start, n)


def due_soon(start: datetime, due: datetime, *, short_hours: float, long_days: float) -> datetime:
    """When to warn: hours before a short deadline, days before a long one; never before start."""
    lead = timedelta(days=long_days) if due - start > LONG_CLOCK else timedelta(hours=short_hours)
    return max(start, due - lead)
