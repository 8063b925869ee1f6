"""Deadlines: the next school-day start at the school after the incident (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from notifications.intake.school_days import SchoolCalendar
from services.calendar import WorkingCalendar

COUNCIL = WorkingCalendar()


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


class TestNextSchoolDayStart:
    def test_friday_night_incident_is_due_monday_at_the_school_start(self) -> None:
        cal = SchoolCalendar(council=COUNCIL, day_start=time(8, 45))
        # Friday 20 Nov 2026 22:30 UTC -> Monday 23 Nov 08:45 London (GMT).
        assert cal.next_school_day_start(utc(2026, 11, 20, 22, 30)) == utc(2026, 11, 23, 8, 45)

    def test_early_morning_incident_is_due_the_same_morning(self) -> None:
        cal = SchoolCalendar(council=COUNCIL)
        assert cal.next_school_day_start(utc(2026, 11, 23, 2, 0)) == utc(2026, 11, 23, 8, 30)

    def test_summer_time_start_is_the_local_clock_time(self) -> None:
        cal = SchoolCalendar(council=COUNCIL)
        # Tuesday 9 June 2026 22:00 UTC -> Wednesday 08:30 BST = 07:30 UTC.
        assert cal.next_school_day_start(utc(2026, 6, 9, 22, 0)) == utc(2026, 6, 10, 7, 30)

    def test_bank_holiday_monday_is_skipped(self) -> None:
        cal = SchoolCalendar(council=COUNCIL)
        # Friday 22 May 2026; Monday 25 May is the spring bank holiday.
        assert cal.next_school_day_start(utc(2026, 5, 22, 21, 0)) == utc(2026, 5, 26, 7, 30)

    def test_school_closure_days_and_terms_are_respected(self) -> None:
        cal = SchoolCalendar(
            council=COUNCIL,
            terms=((date(2026, 9, 3), date(2026, 12, 18)), (date(2027, 1, 5), date(2027, 3, 26))),
            closures=frozenset({date(2027, 1, 5)}),
        )
        # Christmas holiday: an incident on 23 Dec is due on 6 Jan (5 Jan is an INSET day).
        assert cal.next_school_day_start(utc(2026, 12, 23, 1, 0)) == utc(2027, 1, 6, 8, 30)


class TestInHoliday:
    def test_weekend_is_not_a_holiday(self) -> None:
        cal = SchoolCalendar(council=COUNCIL)
        at = utc(2026, 11, 20, 22, 30)
        assert not cal.in_holiday(at, cal.next_school_day_start(at))

    def test_christmas_break_is_a_holiday(self) -> None:
        cal = SchoolCalendar(
            council=COUNCIL,
            terms=((date(2026, 9, 3), date(2026, 12, 18)), (date(2027, 1, 5), date(2027, 3, 26))),
        )
        at = utc(2026, 12, 23, 1, 0)
        assert cal.in_holiday(at, cal.next_school_day_start(at))
