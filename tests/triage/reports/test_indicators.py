"""The scorecard's definitions (pure): direction of travel by polarity, periods, targets."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest

from triage.reports.indicators import direction, meets, rating, ratio, with_targets
from triage.reports.periods import MAX_PERIOD_DAYS, period_of, previous, range_errors, resolve

LONDON = ZoneInfo("Europe/London")


class TestDirectionOfTravel:
    @pytest.mark.parametrize(
        ("current", "before", "polarity", "expected"),
        [
            (0.6, 0.5, "higher_is_better", "improving"),
            (0.4, 0.5, "higher_is_better", "worsening"),
            (0.4, 0.5, "lower_is_better", "improving"),
            (0.6, 0.5, "lower_is_better", "worsening"),
            (0.5, 0.5, "higher_is_better", "unchanged"),
            (0.5, None, "higher_is_better", "not_comparable"),
            (None, 0.5, "lower_is_better", "not_comparable"),
        ],
    )
    def test_direction_follows_polarity(
        self, current: float | None, before: float | None, polarity: str, expected: str
    ) -> None:
        assert direction(current, before, polarity) == expected  # type: ignore[arg-type]

    def test_on_target_wins_over_direction(self) -> None:
        assert rating(0.95, 0.99, 0.9, "higher_is_better") == "on_target"
        assert rating(0.2, 0.25, 0.21, "lower_is_better") == "on_target"

    def test_off_target_shows_the_direction(self) -> None:
        assert rating(0.57, 0.5, 0.9, "higher_is_better") == "improving"
        assert rating(0.5, 0.72, 0.9, "higher_is_better") == "worsening"
        assert rating(0.3, 0.25, 0.21, "lower_is_better") == "worsening"
        assert rating(0.5, 0.5, 0.9, "higher_is_better") == "unchanged"
        assert rating(0.5, None, 0.9, "higher_is_better") == "off_target"
        assert rating(None, 0.5, 0.9, "higher_is_better") == "no_data"

    def test_a_neutral_indicator_is_never_improving_worsening_or_on_target(self) -> None:
        assert direction(0.4, 0.3, "neutral") == "higher"
        assert direction(0.2, 0.3, "neutral") == "lower"
        assert direction(0.3, 0.3, "neutral") == "unchanged"
        assert meets(0.31, 0.31, "neutral") is None
        assert rating(0.4, 0.3, 0.31, "neutral") == "not_rated"
        assert rating(None, 0.3, 0.31, "neutral") == "no_data"

    def test_targets_are_met_at_the_boundary(self) -> None:
        assert meets(0.9, 0.9, "higher_is_better") is True
        assert meets(0.21, 0.21, "lower_is_better") is True
        assert meets(None, 0.9, "higher_is_better") is None

    def test_no_denominator_is_no_value(self) -> None:
        assert ratio(0, 0) is None
        assert ratio(1, 3) == 0.3333

    def test_a_council_sets_its_own_targets_within_0_and_1(self) -> None:
        defs = with_targets(
            {"feedback_given": 0.8, "child_voice_recorded": 2, "completed_within_24_hours": True}
        )
        assert defs["feedback_given"].target == 0.8
        assert defs["child_voice_recorded"].target == 0.9
        assert defs["completed_within_24_hours"].target == 0.84


class TestPeriods:
    def test_previous_period_is_the_same_length_just_before(self) -> None:
        october = period_of(date(2026, 10, 1), date(2026, 10, 31), LONDON)
        before = previous(october, LONDON)
        assert (before.first_day, before.last_day) == (date(2026, 8, 31), date(2026, 9, 30))
        assert before.end == october.start

    def test_days_are_local_across_the_clock_change(self) -> None:
        october = period_of(date(2026, 10, 1), date(2026, 10, 31), LONDON)
        # 1 October is BST (UTC+1); 1 November is GMT.
        assert october.start.utcoffset() == timedelta(hours=1)
        assert october.end.utcoffset() == timedelta(0)

    def test_from_after_to_is_refused(self) -> None:
        errors = range_errors(date(2026, 10, 2), date(2026, 10, 1), date(2026, 12, 1))
        assert [(e.path, e.reason) for e in errors] == [("from", "from is after to")]

    def test_longer_than_a_year_is_refused(self) -> None:
        first = date(2025, 1, 1)
        assert (
            range_errors(first, first + timedelta(days=MAX_PERIOD_DAYS - 1), date(2026, 12, 1))
            == []
        )
        errors = range_errors(first, first + timedelta(days=MAX_PERIOD_DAYS), date(2026, 12, 1))
        assert [e.path for e in errors] == ["to"]

    def test_a_period_starting_in_the_future_is_refused(self) -> None:
        errors = range_errors(date(2026, 12, 2), date(2026, 12, 3), date(2026, 12, 1))
        assert [e.path for e in errors] == ["from"]

    def test_defaults_are_28_days(self) -> None:
        today = date(2026, 12, 1)
        assert resolve(None, None, today) == (date(2026, 11, 4), today)
        assert resolve(None, date(2026, 10, 28), today) == (date(2026, 10, 1), date(2026, 10, 28))
        assert resolve(date(2026, 11, 20), None, today) == (date(2026, 11, 20), today)
