"""The clock table, dated: bank holidays, Easter, Christmas, both DST changes, out-of-hours
receipts and the one-off holidays of 2022 and 2023. Times are Europe/London wall clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.calendar import WorkingCalendar
from triage.clocks.rules import CLOCK_RULES, deadline, due_soon

LONDON = ZoneInfo("Europe/London")
CAL = WorkingCalendar()
END_OF_DAY = WorkingCalendar(rule="end_of_day")


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=LONDON)


def local(value: datetime) -> datetime:
    return value.astimezone(LONDON)


class TestOneWorkingDay:
    @pytest.mark.parametrize(
        ("received", "due"),
        [
            (at(2026, 11, 20, 16), at(2026, 11, 23, 16)),  # Friday 16:00 -> Monday 16:00
            (at(2026, 5, 22, 16), at(2026, 5, 26, 16)),  # Friday before Spring bank holiday
            (at(2026, 8, 28, 16), at(2026, 9, 1, 16)),  # Friday before Summer bank holiday
            (at(2026, 11, 21, 3), at(2026, 11, 24, 0)),  # Saturday 03:00 -> end of Monday
            (at(2026, 11, 22, 14), at(2026, 11, 24, 0)),  # Sunday afternoon -> end of Monday
            (at(2026, 12, 23, 10), at(2026, 12, 24, 10)),  # the Christmas examples
            (at(2026, 12, 24, 10), at(2026, 12, 29, 10)),  # 25th, Boxing Day on Mon 28th
            (at(2026, 12, 31, 15), at(2027, 1, 4, 15)),  # New Year's Day on Friday
            (at(2026, 4, 2, 10), at(2026, 4, 7, 10)),  # Easter: Good Friday, Easter Monday
            (at(2026, 4, 3, 10), at(2026, 4, 8, 0)),  # received on Good Friday itself
            (at(2026, 11, 18, 19), at(2026, 11, 19, 19)),  # out of hours, weekday evening
            (at(2026, 11, 19, 23, 30), at(2026, 11, 20, 23, 30)),  # late night Thursday
            (at(2022, 9, 16, 10), at(2022, 9, 20, 10)),  # state funeral Mon 19 Sep 2022
            (at(2023, 5, 5, 10), at(2023, 5, 9, 10)),  # coronation Mon 8 May 2023
            (at(2023, 4, 28, 12), at(2023, 5, 2, 12)),  # early May bank holiday 2023
        ],
    )
    def test_same_time_on_the_next_working_day(self, received: datetime, due: datetime) -> None:
        assert local(deadline("decision", received, CAL)) == due

    def test_spring_forward_keeps_the_wall_clock_time(self) -> None:
        # Clocks go forward Sunday 29 March 2026: 10:00 GMT Friday -> 10:00 BST Monday.
        due = deadline("decision", at(2026, 3, 27, 10), CAL)
        assert local(due) == at(2026, 3, 30, 10)
        assert due.astimezone(UTC) == datetime(2026, 3, 30, 9, tzinfo=UTC)

    def test_fall_back_keeps_the_wall_clock_time(self) -> None:
        # Clocks go back Sunday 25 October 2026: 10:00 BST Friday -> 10:00 GMT Monday.
        due = deadline("decision", at(2026, 10, 23, 10), CAL)
        assert due.astimezone(UTC) == datetime(2026, 10, 26, 10, tzinfo=UTC)

    def test_end_of_day_rule_is_a_council_setting(self) -> None:
        assert local(deadline("decision", at(2026, 11, 20, 16), END_OF_DAY)) == at(2026, 11, 24)
        assert local(deadline("decision", at(2026, 12, 24, 10), END_OF_DAY)) == at(2026, 12, 30)

    def test_council_closure_days_are_not_working_days(self) -> None:
        closed = WorkingCalendar(closure_days=frozenset({date(2026, 11, 23)}))
        assert local(deadline("decision", at(2026, 11, 20, 16), closed)) == at(2026, 11, 24, 16)


class TestHourClocks:
    @pytest.mark.parametrize("kind", ["written_follow_up", "completed_24h"])
    def test_24_hours_are_elapsed_hours_across_spring_forward(self, kind: str) -> None:
        start = at(2026, 3, 28, 12)  # Saturday 12:00 GMT
        due = deadline(kind, start, CAL)
        assert due - start == timedelta(hours=24)
        assert local(due) == at(2026, 3, 29, 13)  # 13:00 BST on the wall

    def test_48_hours_across_fall_back(self) -> None:
        start = at(2026, 10, 24, 12)  # Saturday 12:00 BST
        due = deadline("all_contacts_48h", start, CAL)
        assert local(due) == at(2026, 10, 26, 11)  # two days on, 11:00 GMT

    def test_hour_clocks_ignore_bank_holidays(self) -> None:
        assert local(deadline("completed_24h", at(2026, 12, 24, 10), CAL)) == at(2026, 12, 25, 10)

    def test_unallocated_alert_is_seven_days(self) -> None:
        assert local(deadline("unallocated", at(2026, 11, 2, 9), CAL)) == at(2026, 11, 9, 9)


class TestLongClocks:
    def test_assessment_is_45_working_days_from_the_referral(self) -> None:
        # 2 Nov 2026 + 45 working days, skipping 25 and 28 Dec and 1 Jan.
        assert local(deadline("assessment", at(2026, 11, 2, 11), CAL)) == at(2027, 1, 7, 11)

    def test_icpc_is_15_working_days_after_the_strategy_discussion(self) -> None:
        # 14 Dec 2026: Christmas, Boxing (substitute 28th) and New Year's Day are skipped.
        assert local(deadline("icpc", at(2026, 12, 14, 14), CAL)) == at(2027, 1, 7, 14)

    def test_icpc_over_easter(self) -> None:
        assert local(deadline("icpc", at(2026, 3, 26, 9), CAL)) == at(2026, 4, 20, 9)

    def test_every_clock_kind_has_a_rule(self) -> None:
        for kind in CLOCK_RULES:
            assert deadline(kind, at(2026, 6, 1, 9), CAL) > at(2026, 6, 1, 9)


class TestDueSoon:
    def test_short_clocks_warn_hours_ahead(self) -> None:
        start = at(2026, 11, 20, 16)
        due = deadline("decision", start, CAL)
        assert due_soon(start, due, short_hours=2, long_days=3) == due - timedelta(hours=2)

    def test_long_clocks_warn_days_ahead(self) -> None:
        start = at(2026, 11, 2, 11)
        due = deadline("assessment", start, CAL)
        assert due_soon(start, due, short_hours=2, long_days=3) == due - timedelta(days=3)

    def test_warning_is_never_before_the_start(self) -> None:
        start = at(2026, 11, 20, 16)
        assert due_soon(start, start + timedelta(hours=1), short_hours=2, long_days=3) == start


class TestWorkingDayProperties:
    @given(
        st.datetimes(
            min_value=datetime(2022, 1, 1), max_value=datetime(2027, 12, 1), timezones=st.just(UTC)
        ),
        st.integers(min_value=1, max_value=45),
    )
    @settings(max_examples=300, deadline=None)
    def test_deadline_lands_on_a_working_day_at_the_same_wall_time(
        self, start: datetime, days: int
    ) -> None:
        due = local(CAL.add_working_days(start, days))
        begun = local(start)
        assert CAL.is_working_day(due.date())
        assert due > begun
        if CAL.is_working_day(begun.date()):
            # UK clocks change on Sundays, so a working day's wall time always exists.
            assert due.time() == begun.time()
            assert CAL.working_days_between(start, due) == days
        else:
            assert due.time() == datetime.min.time()
