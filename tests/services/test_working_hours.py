"""Working hours: office time on working days (the MASH's RAG timescales), pure and exhaustive.

Bradford's hours (Mon-Thu 08:30-17:00 = 8.5 h, Fri 08:30-16:30 = 8 h); bank holidays, closure
days, both DST changes, Friday afternoons, and properties over arbitrary instants.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.calendar import WorkingCalendar

LONDON = ZoneInfo("Europe/London")
CAL = WorkingCalendar()


def uk(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=LONDON)


def utc(value: str) -> datetime:
    return uk(value).astimezone(UTC)


class TestAddWorkingHours:
    @pytest.mark.parametrize(
        ("start", "hours", "due"),
        [
            # Inside a day.
            ("2026-11-23 09:00", 4, "2026-11-23 13:00"),
            ("2026-11-23 08:30", 8.5, "2026-11-23 17:00"),  # a whole day ends at closing
            ("2026-11-23 13:00", 4, "2026-11-23 17:00"),  # exactly used up: closing, not 08:30
            ("2026-11-23 14:00", 4, "2026-11-24 09:30"),  # 3 h today, 1 h tomorrow
            # Before opening and after closing count from the next opening.
            ("2026-11-23 06:00", 4, "2026-11-23 12:30"),
            ("2026-11-23 17:00", 4, "2026-11-24 12:30"),
            ("2026-11-23 21:00", 4, "2026-11-24 12:30"),
            # Friday afternoons: Friday closes at 16:30, then the weekend is skipped.
            ("2026-11-20 14:00", 4, "2026-11-23 10:00"),  # 2.5 h Friday, 1.5 h Monday
            ("2026-11-20 16:00", 4, "2026-11-23 12:00"),
            ("2026-11-20 16:30", 4, "2026-11-23 12:30"),
            ("2026-11-20 16:45", 0.25, "2026-11-23 08:45"),
            ("2026-11-21 10:00", 4, "2026-11-23 12:30"),  # Saturday
            ("2026-11-22 23:59", 4, "2026-11-23 12:30"),  # Sunday night
            # Amber: 24 working hours from Monday 09:00 = 8 + 8.5 + 7.5 -> Wednesday 16:00.
            ("2026-11-23 09:00", 24, "2026-11-25 16:00"),
            # Green: 72 working hours from Monday 08:30 (8.5 x 4 + 8 = 42 h a week).
            ("2026-11-23 08:30", 72, "2026-12-03 13:00"),  # 42 + 3 x 8.5 = 67.5, then 4.5 h
            # Bank holidays: the May Day Monday and Easter are skipped.
            ("2026-05-01 15:00", 4, "2026-05-05 11:00"),  # Fri 1.5 h, Mon is a bank holiday
            ("2026-04-02 15:00", 4, "2026-04-07 10:30"),  # Thu 2 h; Good Friday, Easter Monday
            ("2026-12-24 15:00", 4, "2026-12-29 10:30"),  # Christmas Eve Thu 2 h
            ("2022-09-16 16:00", 1, "2022-09-20 09:00"),  # the state funeral (one-off)
            ("2023-05-05 16:00", 1, "2023-05-09 09:00"),  # the coronation (one-off)
            # DST: office hours are wall-clock hours on each day.
            ("2026-03-27 14:00", 4, "2026-03-30 10:00"),  # across spring-forward
            ("2026-10-23 14:00", 4, "2026-10-26 10:00"),  # across fall-back
            ("2026-03-30 08:30", 8.5, "2026-03-30 17:00"),  # the first BST Monday
        ],
    )
    def test_examples(self, start: str, hours: float, due: str) -> None:
        assert CAL.add_working_hours(uk(start), hours) == utc(due)

    def test_result_is_utc(self) -> None:
        assert CAL.add_working_hours(uk("2026-07-01 09:00"), 1).tzinfo == UTC

    def test_zero_hours_is_the_start(self) -> None:
        assert CAL.add_working_hours(uk("2026-11-21 10:00"), 0) == utc("2026-11-21 10:00")

    def test_negative_hours_are_refused(self) -> None:
        with pytest.raises(ValueError, match="negative"):
            CAL.add_working_hours(uk("2026-11-23 10:00"), -1)

    def test_naive_start_is_refused(self) -> None:
        with pytest.raises(ValueError, match="aware"):
            CAL.add_working_hours(datetime(2026, 11, 23, 10), 1)

    def test_closure_day_is_skipped(self) -> None:
        closed = WorkingCalendar(closure_days=frozenset({date(2026, 11, 24)}))
        assert closed.add_working_hours(uk("2026-11-23 16:00"), 2) == utc("2026-11-25 09:30")

    def test_council_office_hours(self) -> None:
        nine_to_five = {d: (time(9), time(17)) for d in range(5)}
        cal = WorkingCalendar(office_hours=nine_to_five)
        assert cal.add_working_hours(uk("2026-11-20 16:00"), 2) == utc("2026-11-23 10:00")

    def test_a_weekday_without_hours_is_skipped(self) -> None:
        no_wednesday = {d: (time(9), time(17)) for d in (0, 1, 3, 4)}
        cal = WorkingCalendar(office_hours=no_wednesday)
        assert cal.add_working_hours(uk("2026-11-24 16:00"), 2) == utc("2026-11-26 10:00")

    def test_no_office_hours_at_all_fails_rather_than_loop(self) -> None:
        with pytest.raises(ValueError, match="scan bound"):
            WorkingCalendar(office_hours={}).add_working_hours(uk("2026-11-23 10:00"), 1)


class TestWorkingHoursBetween:
    @pytest.mark.parametrize(
        ("start", "end", "hours"),
        [
            ("2026-11-23 09:00", "2026-11-23 13:00", 4),
            ("2026-11-23 06:00", "2026-11-23 20:00", 8.5),
            ("2026-11-20 16:00", "2026-11-23 09:00", 1),  # Friday 0.5 + Monday 0.5
            ("2026-11-21 00:00", "2026-11-22 23:59", 0),  # a weekend
            ("2026-12-25 00:00", "2026-12-28 23:59", 0),  # Christmas to the substitute day
            ("2026-11-23 13:00", "2026-11-23 09:00", 0),  # end before start
        ],
    )
    def test_examples(self, start: str, end: str, hours: float) -> None:
        assert CAL.working_hours_between(uk(start), uk(end)) == pytest.approx(hours)


# Any instant from 2022 to 2027 (bank holidays, one-offs, a dozen DST changes), to the minute.
instants = st.integers(min_value=0, max_value=6 * 366 * 24 * 60).map(
    lambda m: datetime(2022, 1, 1, tzinfo=UTC) + timedelta(minutes=m)
)
# Whole minutes of working time, up to two working weeks.
minutes = st.integers(min_value=1, max_value=84 * 60)


def in_office(at: datetime, cal: WorkingCalendar = CAL) -> bool:
    """Inside office hours, or exactly at a closing time (a deadline that uses up a day)."""
    local = at.astimezone(LONDON)
    hours = cal.office_hours.get(local.weekday())
    if hours is None or not cal.is_working_day(local.date()):
        return False
    return hours[0] < local.time() <= hours[1]


class TestProperties:
    @settings(max_examples=300, deadline=None)
    @given(instants, minutes)
    def test_counting_back_gives_the_hours_added(self, start: datetime, m: int) -> None:
        due = CAL.add_working_hours(start, m / 60)
        assert CAL.working_hours_between(start, due) == pytest.approx(m / 60)

    @settings(max_examples=300, deadline=None)
    @given(instants, minutes)
    def test_a_deadline_falls_in_office_hours(self, start: datetime, m: int) -> None:
        assert in_office(CAL.add_working_hours(start, m / 60))

    @settings(max_examples=300, deadline=None)
    @given(instants, minutes)
    def test_never_sooner_than_elapsed_hours(self, start: datetime, m: int) -> None:
        assert CAL.add_working_hours(start, m / 60) >= start + timedelta(minutes=m)

    @settings(max_examples=200, deadline=None)
    @given(instants, minutes, minutes)
    def test_adding_in_two_steps_is_adding_once(self, start: datetime, a: int, b: int) -> None:
        two_steps = CAL.add_working_hours(CAL.add_working_hours(start, a / 60), b / 60)
        assert two_steps == CAL.add_working_hours(start, (a + b) / 60)

    @settings(max_examples=200, deadline=None)
    @given(instants, minutes, minutes)
    def test_more_hours_never_an_earlier_deadline(self, start: datetime, a: int, b: int) -> None:
        low, high = sorted((a, b))
        assert CAL.add_working_hours(start, low / 60) <= CAL.add_working_hours(start, high / 60)

    @settings(max_examples=200, deadline=None)
    @given(instants, minutes)
    def test_a_later_start_never_an_earlier_deadline(self, start: datetime, m: int) -> None:
        later = start + timedelta(minutes=37)
        assert CAL.add_working_hours(later, m / 60) >= CAL.add_working_hours(start, m / 60)

    @settings(max_examples=200, deadline=None)
    @given(instants, minutes)
    def test_no_working_time_outside_office_hours(self, start: datetime, m: int) -> None:
        """Counting between two instants in the same non-working stretch gives nothing."""
        due = CAL.add_working_hours(start, m / 60)
        # From the deadline to the next opening no office time passes.
        nxt = CAL.add_working_hours(due, 1 / 60) - timedelta(minutes=1)
        assert CAL.working_hours_between(due, nxt) == pytest.approx(0)
