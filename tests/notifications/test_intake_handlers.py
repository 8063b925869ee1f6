"""Triage's `dv.encompass_requested` mapped onto the intake schema (pure: no database).

The consumer end to end (an event through the outbox to a notification) is in test_delivery.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from notifications.intake.handlers import education_status, valid_children
from services.events.contracts import EncompassChild, EncompassRequested


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        ("EHE", "ehe"),
        ("Elective home education", "ehe"),
        ("home-educated", "ehe"),
        ("on roll", "on_roll"),
        ("CME", "cme"),
        ("unknown", "unknown"),
        ("attends sometimes", "unknown"),
    ],
)
def test_triage_education_statuses_in_this_services_words(
    raw: str | None, expected: str | None
) -> None:
    assert education_status(raw) == expected


def _requested(*children: EncompassChild) -> EncompassRequested:
    return EncompassRequested(
        contact_id=uuid.uuid4(),
        council_id="demo",
        force_id="west-yorkshire-police",
        police_reference="WY-2026-1",
        incident_at=datetime(2026, 11, 22, 23, 10, tzinfo=UTC),
        children=list(children),
    )


def test_one_unusable_child_does_not_drop_its_siblings() -> None:
    good = EncompassChild(
        given_name="Amira",
        family_name="Example",
        date_of_birth=date(2017, 3, 4),
        school_urn="107301",
        education_status="Home educated",
    )
    bad = EncompassChild(given_name="", family_name="Example", school_urn="not a urn")
    children = valid_children(_requested(bad, good))
    assert [(c.given_name, c.education_status) for c in children] == [("Amira", "ehe")]
