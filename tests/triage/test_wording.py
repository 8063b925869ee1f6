"""How the triage pages word and write things (pure functions)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from triage.queue.schemas import QueueItem, SubjectSummary
from triage.wording import bar_chart, queue_rows, time_left

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def item(**overrides: object) -> QueueItem:
    fields: dict[str, object] = {
        "id": uuid.uuid4(),
        "reference": "FDC-2026-000001",
        "kind": "marf",
        "channel": "api",
        "status": "open",
        "lane": "mash",
        "level": 3,
        "rag": "amber",
        "priority": 2,
        "safety_floor": False,
        "received_at": NOW,
        "deadline_at": NOW + timedelta(hours=3),
        "breached": False,
        "re_referral": False,
        "assigned_to": None,
        "lease_holder": None,
        "lease_expires_at": None,
        "subjects": [SubjectSummary(position=0, kind="child", name="Alex", age=7)],
    }
    fields.update(overrides)
    return QueueItem.model_validate(fields)


class TestTimeLeft:
    def test_hours_and_minutes_left(self) -> None:
        assert time_left(NOW + timedelta(hours=3, minutes=20), NOW) == "3 h 20 min left"

    def test_overdue(self) -> None:
        assert time_left(NOW - timedelta(minutes=5), NOW) == "5 min overdue"

    def test_days_once_over_two(self) -> None:
        assert time_left(NOW + timedelta(days=9, hours=1), NOW) == "9 days left"


class TestQueueRows:
    def test_a_childs_name_is_escaped(self) -> None:
        sly = SubjectSummary(position=0, kind="child", name="<script>x</script>", age=None)
        html = str(queue_rows([item(subjects=[sly])], NOW))
        assert "<script>" not in html
        assert "&lt;script&gt;" in html

    def test_tags_show_breaches_risk_and_sibling_groups(self) -> None:
        siblings = [
            SubjectSummary(position=0, kind="child", name="A", age=3),
            SubjectSummary(position=1, kind="child", name="B", age=5),
        ]
        row = item(subjects=siblings, safety_floor=True, breached_clocks=["decision"], rag="red")
        html = str(queue_rows([row], NOW))
        assert "Sibling group of 2" in html
        assert "Immediate risk" in html
        assert "Breached: decision" in html
        assert "govuk-tag--red" in html
        assert "1 Dec 2026 15:00" in html  # London in winter is UTC


class TestBarChart:
    def test_bars_scale_to_the_largest_value(self) -> None:
        chart = bar_chart([("a", 10), ("b", 5)], title="t")
        bars = chart["bars"]
        assert isinstance(bars, list)
        assert bars[0]["width"] == 2 * bars[1]["width"]
