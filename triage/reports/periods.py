"""Report periods (pure): whole local days, the period before it, and bad ranges refused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.errors import FieldError

# A scorecard covers at most a year (a leap year's 366 days), as the published packs do.
MAX_PERIOD_DAYS = 366
DEFAULT_PERIOD_DAYS = 28
# Days a report may name: no front door's records go back before 2000, and a day past 2100
# is a typing slip (and 0001-01-01 or 9999-12-31 would leave the calendar, a 500 before).
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2100, 12, 31)


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


def day_errors(first: date | None, last: date | None) -> list[FieldError]:
    """Days outside the years a report can cover (checked before any arithmetic on them)."""
    errors: list[FieldError] = []
    for path, day in (("from", first), ("to", last)):
        if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
            errors.append(
                FieldError(path=path, reason=f"must be between {EARLIEST_DAY} and {LATEST_DAY}")
            )
    return errors


def instant_errors(first: datetime | None, last: datetime | None) -> list[FieldError]:
    """Times of a period given to the second: each with its zone, in the years a report covers,
    `from` before `to` and at most a scorecard's span apart."""
    errors: list[FieldError] = []
    for path, at in (("from", first), ("to", last)):
        if at is None:
            continue
        if at.tzinfo is None or at.utcoffset() is None:
            errors.append(FieldError(path=path, reason="needs a time zone (Z or +01:00)"))
        elif not EARLIEST_DAY <= at.date() <= LATEST_DAY:
            errors.append(
                FieldError(path=path, reason=f"must be between {EARLIEST_DAY} and {LATEST_DAY}")
            )
    if errors or first is None or last is None:
        return errors
    if first >= last:
        errors.append(FieldError(path="from", reason="from is not before to"))
    elif last - first > timedelta(days=MAX_PERIOD_DAYS):
        errors.append(FieldError(path="to", reason=f"a period is at most {MAX_PERIOD_DAYS} days"))
    return errors


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
