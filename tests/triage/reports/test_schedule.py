"""When the scheduled reports are due: working days, council local time, one catch-up."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from services.calendar import WorkingCalendar
from triage.reports.schedule import Schedule, latest_due, parse_time, parse_weekly

CAL = WorkingCalendar()
TWICE_DAILY = Schedule("in_progress", (time(9), time(14)), None, timedelta(hours=5))
WEEKLY = Schedule("unallocated", (time(9),), 0, timedelta(hours=72))


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


class TestTwiceDaily:
    @pytest.mark.parametrize(
        ("now", "slot"),
        [
            (utc(2026, 12, 1, 8, 59), None),  # yesterday's 14:00 is past its catch-up window
            (utc(2026, 12, 1, 9, 0), utc(2026, 12, 1, 9, 0)),
            (utc(2026, 12, 1, 13, 59), utc(2026, 12, 1, 9, 0)),
            (utc(2026, 12, 1, 14, 30), utc(2026, 12, 1, 14, 0)),
            (utc(2026, 12, 1, 18, 59), utc(2026, 12, 1, 14, 0)),
            (utc(2026, 12, 1, 19, 1), None),
            (utc(2026, 12, 5, 10, 0), None),  # Saturday
            (utc(2026, 12, 28, 9, 30), None),  # bank holiday (Boxing Day moved)
            (utc(2026, 12, 29, 9, 30), utc(2026, 12, 29, 9, 0)),
        ],
    )
    def test_latest_due_slot(self, now: datetime, slot: datetime | None) -> None:
        assert latest_due(TWICE_DAILY, now, CAL) == slot

    def test_times_are_council_local_time(self) -> None:
        # 09:00 in British Summer Time is 08:00 UTC.
        assert latest_due(TWICE_DAILY, utc(2026, 7, 1, 8, 30), CAL) == utc(2026, 7, 1, 8, 0)

    def test_a_council_closure_day_has_no_report(self) -> None:
        closed = WorkingCalendar(closure_days=frozenset({datetime(2026, 12, 1).date()}))
        assert latest_due(TWICE_DAILY, utc(2026, 12, 1, 9, 30), closed) is None


class TestWeekly:
    @pytest.mark.parametrize(
        ("now", "slot"),
        [
            (utc(2026, 12, 7, 8, 59), None),  # last Monday's is more than 72 h old
            (utc(2026, 12, 7, 9, 0), utc(2026, 12, 7, 9, 0)),
            (utc(2026, 12, 9, 8, 59), utc(2026, 12, 7, 9, 0)),  # caught up on Wednesday
            (utc(2026, 12, 10, 9, 1), None),
            # Easter Monday: the report moves to Tuesday 09:00 (BST).
            (utc(2026, 4, 6, 10, 0), None),
            (utc(2026, 4, 7, 8, 30), utc(2026, 4, 7, 8, 0)),
        ],
    )
    def test_latest_due_slot(self, now: datetime, slot: datetime | None) -> None:
        assert latest_due(WEEKLY, now, CAL) == slot


class TestParsing:
    def test_times_and_weekdays(self) -> None:
        assert parse_time("09:00") == time(9)
        assert parse_weekly("mon 09:30") == (0, time(9, 30))
        assert parse_weekly("Friday 16:00") == (4, time(16))

    @pytest.mark.parametrize("bad", ["9", "9:0", "25:00", "nine"])
    def test_bad_times_are_refused(self, bad: str) -> None:
        with pytest.raises(ValueError):  # noqa: PT011
            parse_time(bad)

    def test_a_bad_weekday_is_refused(self) -> None:
        with pytest.raises(ValueError, match="weekday"):
            parse_weekly("XYZ 09:00")
