"""The chronology merge (pure): time order, the order of the work at equal times, once each."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from triage.chronology.build import chronology
from triage.chronology.repository import History

T0 = datetime(2026, 11, 23, 9, tzinfo=UTC)


def row(**fields: Any) -> SimpleNamespace:
    return SimpleNamespace(id=uuid.uuid4(), **fields)


def empty(**overrides: Any) -> History:
    base: dict[str, Any] = {
        name: []
        for name in (
            "ratings", "checks", "notes", "discussions", "decisions",
            "clocks", "addenda", "screenings", "handovers",
        )
    }  # fmt: skip
    base.update(overrides)
    return History(**base)


CONTACT = SimpleNamespace(
    id=uuid.uuid4(), received_at=T0, channel="phone", recorded_by="w", feedback_given_at=None
)


class TestChronologyBuild:
    def test_steps_at_the_same_instant_keep_the_order_of_the_work(self) -> None:
        rating = row(set_at=T0, rag="amber", previous_rag=None, reason="r", set_by="w")
        check = row(
            requested_at=T0, responded_at=None, due_at=T0, agency_id="police",
            requested_by="w", status="requested", responded_by=None,
        )  # fmt: skip
        entries = chronology(CONTACT, empty(ratings=[rating], checks=[check]))  # type: ignore[arg-type]
        assert [e.kind for e in entries] == ["received", "rag.rated", "check.requested"]

    def test_a_clock_breached_then_met_is_two_steps_and_a_late_answer_says_so(self) -> None:
        clock = row(
            kind="decision", breached_at=T0 + timedelta(hours=2),
            met_at=T0 + timedelta(hours=3), deadline_at=T0 + timedelta(hours=2),
        )  # fmt: skip
        check = row(
            requested_at=T0, responded_at=T0 + timedelta(hours=5), due_at=T0 + timedelta(hours=1),
            agency_id="health", requested_by="w", status="answered", responded_by="p",
        )  # fmt: skip
        entries = chronology(CONTACT, empty(clocks=[clock], checks=[check]))  # type: ignore[arg-type]
        assert [e.kind for e in entries] == [
            "received",
            "check.requested",
            "clock.breached",
            "clock.met",
            "check.answered",
        ]
        assert entries[3].summary == "Clock decision met (late)"
        assert entries[4].summary.endswith("(late)")

    def test_an_undelivered_handover_is_not_a_step(self) -> None:
        handover = row(delivered_at=None, handover_type="assessment")
        entries = chronology(CONTACT, empty(handovers=[handover]))  # type: ignore[arg-type]
        assert [e.kind for e in entries] == ["received"]


class TestCorrections:
    def test_a_correction_says_which_note_it_corrects(self) -> None:
        first = row(written_at=T0, text="Mother said 3 children.", author="w", corrects_id=None)
        fix = row(
            written_at=T0 + timedelta(hours=1), text="Four children.", author="m",
            corrects_id=first.id,
        )  # fmt: skip
        entries = chronology(CONTACT, empty(notes=[first, fix]))  # type: ignore[arg-type]
        correction = next(e for e in entries if e.kind == "note.correction")
        assert correction.summary == (
            f"Corrects the note by w of 2026-11-23 09:00 UTC ({first.id}): Four children."
        )
        added = next(e for e in entries if e.kind == "note.added")
        assert added.summary == "Mother said 3 children."
