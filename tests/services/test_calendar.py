"""The working-day calendar: pure, table-tested (bank holidays, closures, DST, office hours)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.calendar import (
    DEFAULT_OFFICE_HOURS,
    WorkingCalendar,
    is_bank_holiday,
    parse_office_hours,
)

LONDON = ZoneInfo("Europe/London")
CAL = WorkingCalendar()
END_OF_DAY = WorkingCalendar(rule="end_of_day")


def uk(value: str) -> datetime:
    """A Europe/London wall-clock time, e.g. "2026-11-20 16:00"."""
    return datetime.fromisoformat(value).replace(tzinfo=LONDON)


class TestBankHolidays:
    @pytest.mark.parametrize(
        "day",
        [
            date(2022, 6, 2),  # Spring bank holiday moved for the Platinum Jubilee
            date(2022, 6, 3),  # Platinum Jubilee (one-off)
            date(2022, 9, 19),  # State funeral of Queen Elizabeth II (one-off)
            date(2022, 12, 26),  # Boxing Day
            date(2022, 12, 27),  # Christmas Day substitute (25th was a Sunday)
            date(2023, 1, 2),  # New Year's Day substitute
            date(2023, 5, 8),  # Coronation of King Charles III (one-off)
            date(2026, 1, 1),
            date(2026, 4, 3),  # Good Friday
            date(2026, 4, 6),  # Easter Monday
            date(2026, 5, 4),
            date(2026, 5, 25),
            date(2026, 8, 31),
            date(2026, 12, 25),
            date(2026, 12, 28),  # Boxing Day substitute (26th is a Saturday)
            date(2027, 3, 26),  # Good Friday
            date(2027, 3, 29),  # Easter Monday
            date(2027, 12, 27),  # Christmas Day substitute
            date(2027, 12, 28),  # Boxing Day substitute
        ],
    )
    def test_england_and_wales_bank_holidays_are_not_working_days(self, day: date) -> None:
        assert is_bank_holiday(day)
        assert not CAL.is_working_day(day)

    @pytest.mark.parametrize(
        "day",
        [
            date(2022, 5, 30),  # the usual late-May date, moved in 2022
            date(2026, 3, 17),  # St Patrick's Day: Northern Ireland only
            date(2026, 8, 3),  # Scotland's summer holiday
            date(2026, 11, 30),  # St Andrew's Day: Scotland only
            date(2026, 12, 24),
            date(2026, 12, 29),
        ],
    )
    def test_other_days_are_working_days(self, day: date) -> None:
        assert not is_bank_holiday(day)
        assert CAL.is_working_day(day)

    @pytest.mark.parametrize("day", [date(2026, 11, 21), date(2026, 11, 22)])
    def test_weekends_are_not_working_days(self, day: date) -> None:
        assert not CAL.is_working_day(day)

    def test_council_closure_days_are_not_working_days(self) -> None:
        closed = WorkingCalendar(closure_days=frozenset({date(2026, 11, 23)}))
        assert not closed.is_working_day(date(2026, 11, 23))
        assert CAL.is_working_day(date(2026, 11, 23))


class TestOneWorkingDaySameTime:
    @pytest.mark.parametrize(
        ("received", "due"),
        [
            # The examples.
            ("2026-11-20 16:00", "2026-11-23 16:00"),  # Friday -> Monday
            ("2026-05-01 16:00", "2026-05-05 16:00"),  # Friday before a bank-holiday Monday
            ("2026-11-21 03:00", "2026-11-24 00:00"),  # Saturday -> end of Monday
            ("2026-12-23 10:00", "2026-12-24 10:00"),
            ("2026-12-24 10:00", "2026-12-29 10:00"),  # Christmas, Boxing Day substitute
            # Ordinary days and the edges of a day.
            ("2026-11-23 00:00", "2026-11-24 00:00"),
            ("2026-11-23 23:59", "2026-11-24 23:59"),
            ("2026-11-19 09:15", "2026-11-20 09:15"),  # Thursday -> Friday
            ("2026-11-22 23:30", "2026-11-24 00:00"),  # Sunday night counts from Monday
            # Easter: Good Friday and Easter Monday both skipped.
            ("2026-04-02 10:00", "2026-04-07 10:00"),
            ("2026-04-03 10:00", "2026-04-08 00:00"),  # received on Good Friday
            # One-off bank holidays.
            ("2022-09-16 12:00", "2022-09-20 12:00"),
            ("2023-05-05 09:00", "2023-05-09 09:00"),
            ("2022-06-01 14:00", "2022-06-06 14:00"),  # the Platinum Jubilee's two days
            # Christmas substitutes in other years.
            ("2022-12-23 10:00", "2022-12-28 10:00"),
            ("2027-12-24 10:00", "2027-12-29 10:00"),
            ("2022-12-30 10:00", "2023-01-03 10:00"),  # New Year's Day substitute
            # Both DST changes: the same wall-clock time, not the same elapsed hours.
            ("2026-03-27 16:00", "2026-03-30 16:00"),
            ("2026-10-23 16:00", "2026-10-26 16:00"),
            ("2026-03-28 12:00", "2026-03-31 00:00"),  # the Saturday before spring-forward
            ("2026-10-25 01:30", "2026-10-27 00:00"),  # the repeated hour itself
        ],
    )
    def test_deadline(self, received: str, due: str) -> None:
        result = CAL.add_working_days(uk(received), 1)
        assert result == uk(due)
        assert result.tzinfo is UTC

    def test_dst_changes_are_counted_in_wall_clock_time(self) -> None:
        spring = CAL.add_working_days(uk("2026-03-27 16:00"), 1)
        autumn = CAL.add_working_days(uk("2026-10-23 16:00"), 1)
        assert spring - uk("2026-03-27 16:00") == timedelta(hours=71)
        assert autumn - uk("2026-10-23 16:00") == timedelta(hours=73)
        assert (spring.hour, autumn.hour) == (15, 16)  # in UTC: BST, then GMT

    def test_a_closure_day_pushes_the_deadline(self) -> None:
        closed = WorkingCalendar(closure_days=frozenset({date(2026, 11, 23)}))
        assert closed.add_working_days(uk("2026-11-20 16:00"), 1) == uk("2026-11-24 16:00")

    @pytest.mark.parametrize(
        ("received", "days", "due"),
        [
            ("2026-12-23 10:00", 2, "2026-12-29 10:00"),
            ("2026-11-20 16:00", 5, "2026-11-27 16:00"),
            ("2026-12-18 11:00", 5, "2026-12-29 11:00"),  # over Christmas
            ("2026-12-24 11:00", 5, "2027-01-05 11:00"),  # Christmas and New Year
            ("2026-11-23 09:00", 15, "2026-12-14 09:00"),  # initial conference window
            ("2026-11-23 09:00", 45, "2027-01-28 09:00"),  # assessment window, over Christmas
        ],
    )
    def test_several_working_days(self, received: str, days: int, due: str) -> None:
        assert CAL.add_working_days(uk(received), days) == uk(due)

    def test_input_in_any_zone_gives_the_same_instant(self) -> None:
        as_utc = uk("2026-11-20 16:00").astimezone(UTC)
        assert CAL.add_working_days(as_utc, 1) == uk("2026-11-23 16:00")

    def test_naive_times_are_refused(self) -> None:
        with pytest.raises(ValueError, match="aware"):
            CAL.add_working_days(datetime(2026, 11, 20, 16), 1)

    @pytest.mark.parametrize("days", [0, -1])
    def test_fewer_than_one_day_is_refused(self, days: int) -> None:
        with pytest.raises(ValueError, match="at least 1"):
            CAL.add_working_days(uk("2026-11-20 16:00"), days)


class TestEndOfDayRule:
    @pytest.mark.parametrize(
        ("received", "days", "due"),
        [
            ("2026-11-20 16:00", 1, "2026-11-24 00:00"),  # end of Monday
            ("2026-11-21 03:00", 1, "2026-11-24 00:00"),
            ("2026-11-23 00:00", 1, "2026-11-25 00:00"),
            ("2026-05-01 16:00", 1, "2026-05-06 00:00"),  # bank-holiday Monday
            ("2026-12-24 10:00", 1, "2026-12-30 00:00"),
            ("2026-03-27 16:00", 1, "2026-03-31 00:00"),  # across spring-forward
            ("2026-10-23 16:00", 1, "2026-10-27 00:00"),  # across fall-back
            ("2026-11-20 16:00", 2, "2026-11-25 00:00"),
        ],
    )
    def test_deadline_is_the_end_of_the_nth_working_day(
        self, received: str, days: int, due: str
    ) -> None:
        assert END_OF_DAY.add_working_days(uk(received), days) == uk(due)


class TestExhaustively:
    """Every day from 2022 to 2027 at the edges of the day: the rules' invariants hold."""

    TIMES = (time(0, 0), time(8, 29), time(12, 0), time(16, 0), time(23, 59))

    def test_same_time_invariants(self) -> None:
        day, checked = date(2022, 1, 1), 0
        while day < date(2028, 1, 1):
            for wall in self.TIMES:
                start = datetime.combine(day, wall, tzinfo=LONDON)
                due = CAL.add_working_days(start, 1).astimezone(LONDON)
                assert due > start
                assert CAL.is_working_day(due.date())
                base = day if CAL.is_working_day(day) else CAL.next_working_day(day)
                between = [base + timedelta(days=n) for n in range(1, (due.date() - base).days)]
                assert not any(CAL.is_working_day(d) for d in between)
                expected_wall = wall if CAL.is_working_day(day) else time(0, 0)
                assert due.time() == expected_wall
                checked += 1
            day += timedelta(days=1)
        assert checked == 5 * 2191

    def test_end_of_day_deadlines_are_midnight_after_a_working_day(self) -> None:
        day = date(2022, 1, 1)
        while day < date(2028, 1, 1):
            start = datetime.combine(day, time(12, 0), tzinfo=LONDON)
            due = END_OF_DAY.add_working_days(start, 1).astimezone(LONDON)
            assert due.time() == time(0, 0)
            last_day = due.date() - timedelta(days=1)
            assert CAL.is_working_day(last_day)
            assert last_day > day
            assert CAL.working_days_between(start, due - timedelta(minutes=1)) == 1
            day += timedelta(days=1)


class TestAddHours:
    @pytest.mark.parametrize(
        ("start", "hours", "local_result"),
        [
            ("2026-03-28 12:00", 24, "2026-03-29 13:00"),  # one hour lost at spring-forward
            ("2026-10-24 12:00", 24, "2026-10-25 11:00"),  # one hour repeated at fall-back
            ("2026-11-20 16:00", 24, "2026-11-21 16:00"),  # weekends count: hours are hours
            ("2026-12-24 10:00", 72, "2026-12-27 10:00"),  # holidays count too
            ("2026-03-29 00:30", 1, "2026-03-29 02:30"),  # across the missing hour
            ("2026-11-20 16:00", 0.5, "2026-11-20 16:30"),
        ],
    )
    def test_hours_are_elapsed_time(self, start: str, hours: float, local_result: str) -> None:
        result = CAL.add_hours(uk(start), hours)
        assert result.tzinfo is UTC
        assert result == uk(local_result)
        assert result - uk(start) == timedelta(hours=hours)

    def test_naive_times_are_refused(self) -> None:
        with pytest.raises(ValueError, match="aware"):
            CAL.add_hours(datetime(2026, 11, 20), 24)


class TestOfficeHours:
    def test_bradford_hours_are_the_default(self) -> None:
        assert DEFAULT_OFFICE_HOURS == {
            0: (time(8, 30), time(17, 0)),
            1: (time(8, 30), time(17, 0)),
            2: (time(8, 30), time(17, 0)),
            3: (time(8, 30), time(17, 0)),
            4: (time(8, 30), time(16, 30)),
        }

    @pytest.mark.parametrize(
        ("at", "inside"),
        [
            ("2026-11-23 08:29", False),  # Monday
            ("2026-11-23 08:30", True),
            ("2026-11-23 16:59", True),
            ("2026-11-23 17:00", False),
            ("2026-11-26 16:45", True),  # Thursday: open until 17:00
            ("2026-11-20 16:29", True),  # Friday: closes at 16:30
            ("2026-11-20 16:30", False),
            ("2026-11-21 10:00", False),  # Saturday
            ("2026-11-22 10:00", False),  # Sunday
            ("2026-12-28 10:00", False),  # Boxing Day substitute
            ("2026-06-01 08:30", True),  # in BST: 07:30 UTC
            ("2026-06-01 08:15", False),
        ],
    )
    def test_in_office_hours(self, at: str, inside: bool) -> None:
        assert CAL.in_office_hours(uk(at)) is inside

    def test_in_office_hours_reads_utc_instants_in_local_time(self) -> None:
        assert CAL.in_office_hours(datetime(2026, 6, 1, 7, 30, tzinfo=UTC))
        assert not CAL.in_office_hours(datetime(2026, 12, 1, 7, 30, tzinfo=UTC))

    def test_a_closure_day_is_outside_office_hours(self) -> None:
        closed = WorkingCalendar(closure_days=frozenset({date(2026, 11, 23)}))
        assert not closed.in_office_hours(uk("2026-11-23 10:00"))

    def test_office_hours_parse_from_configuration(self) -> None:
        raw = {"0": ["09:00", "17:30"], "4": ["09:00", "16:00"]}
        hours = parse_office_hours(raw)
        assert hours == {0: (time(9), time(17, 30)), 4: (time(9), time(16))}
        custom = WorkingCalendar(office_hours=hours)
        assert custom.in_office_hours(uk("2026-11-23 17:15"))
        assert not custom.in_office_hours(uk("2026-11-24 10:00"))  # no Tuesday hours


class TestNextWorkingDayStart:
    @pytest.mark.parametrize(
        ("at", "start"),
        [
            ("2026-11-20 17:30", "2026-11-23 08:30"),  # Friday evening -> Monday opening
            ("2026-11-23 07:00", "2026-11-23 08:30"),  # before today's opening
            ("2026-11-23 08:30", "2026-11-24 08:30"),  # strictly after
            ("2026-11-23 09:00", "2026-11-24 08:30"),
            ("2026-11-21 10:00", "2026-11-23 08:30"),  # Saturday
            ("2026-05-01 18:00", "2026-05-05 08:30"),  # before a bank-holiday Monday
            ("2026-12-24 17:00", "2026-12-29 08:30"),
            ("2026-03-27 18:00", "2026-03-30 08:30"),  # across spring-forward (07:30 UTC)
            ("2026-10-23 18:00", "2026-10-26 08:30"),  # across fall-back (08:30 UTC)
        ],
    )
    def test_office_opening(self, at: str, start: str) -> None:
        assert CAL.next_working_day_start(uk(at)) == uk(start)

    def test_an_explicit_opening_time(self) -> None:
        assert CAL.next_working_day_start(uk("2026-05-01 18:00"), time(0)) == uk("2026-05-05 00:00")
        assert CAL.next_working_day_start(uk("2026-11-23 06:00"), time(7)) == uk("2026-11-23 07:00")

    def test_a_day_without_hours_starts_at_midnight(self) -> None:
        hours = {0: (time(8, 30), time(17))}
        cal = WorkingCalendar(office_hours=hours)
        assert cal.next_working_day_start(uk("2026-11-23 09:00")) == uk("2026-11-24 00:00")


class TestWorkingDaysBetween:
    @pytest.mark.parametrize(
        ("start", "end", "count"),
        [
            ("2026-11-20 16:00", "2026-11-23 09:00", 1),
            ("2026-11-20 16:00", "2026-11-20 17:00", 0),
            ("2026-12-24 10:00", "2026-12-29 10:00", 1),
            ("2026-11-23 09:00", "2026-12-14 09:00", 15),
            ("2026-11-23 09:00", "2026-11-20 09:00", 0),  # end before start
        ],
    )
    def test_count(self, start: str, end: str, count: int) -> None:
        assert CAL.working_days_between(uk(start), uk(end)) == count


def test_preloading_loads_last_this_and_next_years_bank_holidays() -> None:
    from services.calendar import _bank_holidays, preload_bank_holidays

    _bank_holidays.cache_clear()
    preload_bank_holidays(date(2031, 6, 1))
    assert _bank_holidays.cache_info().currsize == 3
    hits = _bank_holidays.cache_info().hits
    assert is_bank_holiday(date(2032, 1, 1))
    assert is_bank_holiday(date(2030, 12, 25))
    assert _bank_holidays.cache_info().hits == hits + 2  # no load on a request's time
