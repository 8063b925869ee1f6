"""School-day arithmetic: pure functions over the council calendar and a school's own dates.

A school day is a council working day (weekday, not a bank holiday, not a council closure)
that falls inside one of the school's terms (when terms are recorded; after the last recorded
term every working day counts, since nothing is known of the school's holidays there) and is
not one of the school's closure days. The deadline is the school-day start on the first school
day whose start is after the incident.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from services.calendar import WorkingCalendar

# Summer holidays are about six weeks; a year bounds any real gap between school days.
_MAX_SCAN_DAYS = 370


@dataclass(frozen=True)
class SchoolCalendar:
    council: WorkingCalendar
    day_start: time = time(8, 30)
    terms: tuple[tuple[date, date], ...] = ()
    closures: frozenset[date] = field(default_factory=frozenset)

    def is_school_day(self, day: date) -> bool:
        if not self.council.is_working_day(day) or day in self.closures:
            return False
        if not self.terms or day > max(end for _, end in self.terms):
            # Beyond the last recorded term the calendar says nothing (next year's dates not
            # published or imported yet): the school is taken to be open rather than the
            # police's notification refused for want of a school day.
            return True
        return any(start <= day <= end for start, end in self.terms)

    def next_school_day_start(self, after: datetime) -> datetime:
        local = self.council.local(after)
        day = local.date()
        for offset in range(_MAX_SCAN_DAYS):
            candidate = day + timedelta(days=offset)
            if not self.is_school_day(candidate):
                continue
            start = datetime.combine(candidate, self.day_start, tzinfo=self.council.zone)
            if start > local:
                return start.astimezone(UTC)
        raise ValueError("no school day within a year: check the school's term dates")

    def in_holiday(self, incident_at: datetime, deadline_at: datetime) -> bool:
        """True when a weekday between the incident and the deadline is not a school day.

        A Friday-night incident due on Monday is not a holiday; one over Christmas is, and its
        DSL gets it again in the first-day-back digest.
        """
        day = self.council.local(incident_at).date()
        last = self.council.local(deadline_at).date()
        while day < last:
            if day.weekday() < 5 and not self.is_school_day(day):
                return True
            day += timedelta(days=1)
        return False


def parse_terms(raw: Iterable[Mapping[str, str]]) -> tuple[tuple[date, date], ...]:
    return tuple((date.fromisoformat(t["start"]), date.fromisoformat(t["end"])) for t in raw)


def parse_days(raw: Iterable[str]) -> frozenset[date]:
    return frozenset(date.fromisoformat(d) for d in raw)
