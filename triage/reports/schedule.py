"""When the scheduled reports are due (pure): council local times, working days only.

The in-progress report goes at each configured time on every working day; the unallocated
report weekly on the configured weekday, moved to the next working day when that day is a
bank holiday or closure. Only the latest due slot is ever sent: a worker that was down for
both of a day's slots sends the later one once when it comes back (the earlier one would only
repeat it with older figures), and a slot older than the catch-up window is not sent at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from services.calendar import WorkingCalendar

WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


@dataclass(frozen=True)
class Schedule:
    report: str  # in_progress | unallocated
    times: tuple[time, ...]
    # None: every working day; else the weekday (Mon=0) of a weekly report.
    weekday: int | None
    # A slot missed by longer than this is not caught up (the next one is due by then).
    catch_up: timedelta


def parse_time(raw: str) -> time:
    """`09:00` -> 09:00 (24-hour, minutes required)."""
    hours, _, minutes = raw.strip().partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(f"{raw!r} is not a time like 09:00")
    return time(int(hours), int(minutes))


def parse_weekly(raw: str) -> tuple[int, time]:
    """`MON 09:00` -> (0, 09:00)."""
    day, _, at = raw.strip().upper().partition(" ")
    if day[:3] not in WEEKDAYS:
        raise ValueError(f"{raw!r} does not start with a weekday (MON ... SUN)")
    return WEEKDAYS.index(day[:3]), parse_time(at)


def _slot_days(schedule: Schedule, today: date, calendar: WorkingCalendar) -> list[date]:
    """Candidate days, newest first, reaching back a little over a week."""
    days = [today - timedelta(days=n) for n in range(9)]
    if schedule.weekday is None:
        return [d for d in days if calendar.is_working_day(d)]
    out = []
    for d in days:
        if d.weekday() == schedule.weekday:
            moved = d if calendar.is_working_day(d) else calendar.next_working_day(d)
            out.append(moved)
    return sorted(set(out), reverse=True)


def latest_due(schedule: Schedule, now: datetime, calendar: WorkingCalendar) -> datetime | None:
    """The most recent slot at or before `now` (UTC), if it is inside the catch-up window."""
    zone = calendar.zone
    today = now.astimezone(zone).date()
    for day in _slot_days(schedule, today, calendar):
        for at in sorted(schedule.times, reverse=True):
            slot = datetime.combine(day, at, tzinfo=zone)
            if slot <= now:
                return slot.astimezone(UTC) if now - slot <= schedule.catch_up else None
    return None
