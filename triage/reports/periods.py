"""Report periods (pure): whole local days, the period before it, and bad ranges refused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.errors import FieldError

# A scorecard covers at most a year (a leap year's 366 days), as the published packs do.
MAX_PERIOD_DAYS = 366
DEFAULT_PERIOD_DAYS = 28


@dataclass(frozen=True)
class Period:
    first_day: date  # inclusive, council local time
    last_day: date  # inclusive
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def period_of(first: date, last: date, zone: ZoneInfo) -> Period:
    start = local_midnight(first, zone)
    end = local_midnight(last + timedelta(days=1), zone)
    return Period(first, last, start, end)


def previous(period: Period, zone: ZoneInfo) -> Period:
    """The same number of days immediately before."""
    last = period.first_day - timedelta(days=1)
    return period_of(last - timedelta(days=period.days - 1), last, zone)


def range_errors(first: date, last: date, today: date) -> list[FieldError]:
    errors: list[FieldError] = []
    if first > last:
        errors.append(FieldError(path="from", reason="from is after to"))
    elif (last - first).days + 1 > MAX_PERIOD_DAYS:
        errors.append(FieldError(path="to", reason=f"a period is at most {MAX_PERIOD_DAYS} days"))
    if first > today:
        errors.append(FieldError(path="from", reason="from is in the future"))
    return errors


def resolve(first: date | None, last: date | None, today: date) -> tuple[date, date]:
    """Defaults: the 28 days to today, or 28 days from `from`, or 28 days to `to`."""
    span = timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    if first is None and last is None:
        return today - span, today
    if first is None:
        assert last is not None
        return last - span, last
    return first, last if last is not None else min(first + span, today)
