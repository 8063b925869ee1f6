"""The working-day calendar: pure arithmetic over bank holidays, closures and office hours.

A working day is Monday to Friday, not an England-and-Wales bank holiday (from the maintained
`holidays` package, one-off days included) and not a council closure day. Instants are aware
datetimes; arithmetic on working days happens in the council's zone (DST-correct) and results
are returned in UTC. Hour clocks are plain elapsed hours; working-hour clocks count only the
council's office hours on working days (the MASH's RAG timescales).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

import holidays

WorkingDayRule = Literal["same_time", "end_of_day"]

# Bradford's advice line; councils set their own (weekday Mon=0 -> opening, closing).
DEFAULT_OFFICE_HOURS: Mapping[int, tuple[time, time]] = {
    0: (time(8, 30), time(17, 0)),
    1: (time(8, 30), time(17, 0)),
    2: (time(8, 30), time(17, 0)),
    3: (time(8, 30), time(17, 0)),
    4: (time(8, 30), time(16, 30)),
}

# A scan bound: no real calendar has a run of 60 non-working days.
_MAX_SCAN_DAYS = 60
# How far the working-hour arithmetic walks (days): far beyond any MASH timescale (72 working
# hours is under two weeks), and a bound so a council with no office hours at all fails.
_MAX_SPAN_DAYS = 366 * 20


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year).keys())


def preload_bank_holidays(today: date | None = None) -> None:
    """Load last, this and next year's bank holidays now. The `holidays` package imports its
    country data on first use, which takes most of a second: without this, the first request
    that needs a working day after a process starts would wait for it."""
    year = (today or datetime.now(UTC).date()).year
    for each in (year - 1, year, year + 1):
        _bank_holidays(each)


def is_bank_holiday(day: date) -> bool:
    """England-and-Wales bank holiday, including one-off days (2022-09-19, 2023-05-08)."""
    return day in _bank_holidays(day.year)


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None:
        raise ValueError("calendar arithmetic needs an aware datetime")


@dataclass(frozen=True)
class WorkingCalendar:
    """One council's calendar. Immutable; build it from configuration rows."""

    timezone: str = "Europe/London"
    closure_days: frozenset[date] = field(default_factory=frozenset)
    office_hours: Mapping[int, tuple[time, time]] = field(
        default_factory=lambda: dict(DEFAULT_OFFICE_HOURS)
    )
    rule: WorkingDayRule = "same_time"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local(self, at: datetime) -> datetime:
        _require_aware(at)
        return at.astimezone(self.zone)

    def _utc(self, day: date, wall: time) -> datetime:
        return datetime.combine(day, wall, tzinfo=self.zone).astimezone(UTC)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and not is_bank_holiday(day) and day not in self.closure_days

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        for offset in range(1, _MAX_SCAN_DAYS):
            candidate = day + timedelta(days=offset)
            if self.is_working_day(candidate):
                return candidate
        raise ValueError("no working day within the scan bound")

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The deadline `days` working days after `start` under the council's rule.

        same_time: the same local clock time on the Nth following working day; a start on a
        non-working day counts from 00:00 of the next working day. end_of_day: the end
        (next midnight) of the Nth working day.
        """
        if days < 1:
            raise ValueError("days must be at least 1")
        local = self.local(start)
        day, wall = local.date(), local.time().replace(tzinfo=None)
        if self.rule == "end_of_day":
            for _ in range(days):
                day = self.next_working_day(day)
            return self._utc(day + timedelta(days=1), time(0, 0))
        if not self.is_working_day(day):
            day, wall = self.next_working_day(day), time(0, 0)
        for _ in range(days):
            day = self.next_working_day(day)
        return self._utc(day, wall)

    def add_hours(self, start: datetime, hours: float) -> datetime:
        """Plain elapsed hours (UTC arithmetic, so DST changes are neither lost nor doubled)."""
        _require_aware(start)
        return start.astimezone(UTC) + timedelta(hours=hours)

    def opening_time(self, day: date) -> time:
        """When the office opens on `day` (00:00 where no hours are configured)."""
        hours = self.office_hours.get(day.weekday())
        return hours[0] if hours else time(0, 0)

    def next_working_day_start(self, at: datetime, opening: time | None = None) -> datetime:
        """The first start of a working day strictly after `at`.

        The start is `opening` when given, else that day's office opening time (00:00 where
        the council has no hours for the day). A time before today's start gives today's.
        """
        local = self.local(at)
        day = local.date()
        if self.is_working_day(day):
            start = opening or self.opening_time(day)
            if local.time().replace(tzinfo=None) < start:
                return self._utc(day, start)
        day = self.next_working_day(day)
        return self._utc(day, opening or self.opening_time(day))

    def in_office_hours(self, at: datetime) -> bool:
        local = self.local(at)
        hours = self.office_hours.get(local.weekday())
        if hours is None or not self.is_working_day(local.date()):
            return False
        opening, closing = hours
        return opening <= local.time().replace(tzinfo=None) < closing

    def office_spans(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The council's office-hours spans (UTC) on working days, from `start`'s local day on,
        the first clipped to begin no earlier than `start`; spans already over are skipped."""
        _require_aware(start)
        begin = start.astimezone(UTC)
        day = self.local(start).date()
        for _ in range(_MAX_SPAN_DAYS):
            hours = self.office_hours.get(day.weekday())
            if hours is not None and self.is_working_day(day) and hours[0] < hours[1]:
                opening, closing = self._utc(day, hours[0]), self._utc(day, hours[1])
                if closing > begin:
                    yield max(opening, begin), closing
            day += timedelta(days=1)

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The instant `hours` of office time on working days after `start` (UTC).

        Only time inside office hours on working days counts: a start outside them counts
        from the next opening, and a deadline that uses up a day's hours exactly falls at
        that day's closing time (not the next opening). DST-correct: each span is the local
        opening and closing converted on its own day.
        """
        if hours < 0:
            raise ValueError("hours must not be negative")
        remaining = timedelta(hours=hours)
        if not remaining:
            return start.astimezone(UTC)
        for opening, closing in self.office_spans(start):
            if remaining <= closing - opening:
                return opening + remaining
            remaining -= closing - opening
        raise ValueError("no office hours within the scan bound")

    def working_hours_between(self, start: datetime, end: datetime) -> float:
        """Office hours on working days from `start` to `end` (0 when `end` is not later)."""
        _require_aware(end)
        total = timedelta()
        stop = end.astimezone(UTC)
        for opening, closing in self.office_spans(start):
            if opening >= stop:
                break
            total += min(closing, stop) - opening
        return total / timedelta(hours=1)

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """Whole working days from `start`'s local date (exclusive) to `end`'s (inclusive)."""
        first, last = self.local(start).date(), self.local(end).date()
        count, day = 0, first
        while day < last:
            day += timedelta(days=1)
            count += self.is_working_day(day)
        return count


def parse_office_hours(raw: Mapping[str, Iterable[str]]) -> dict[int, tuple[time, time]]:
    """`{"0": ["08:30", "17:00"], ...}` (weekday Mon=0) as stored in council configuration."""
    out: dict[int, tuple[time, time]] = {}
    for weekday, span in raw.items():
        opening, closing = (time.fromisoformat(t) for t in span)
        out[int(weekday)] = (opening, closing)
    return out
