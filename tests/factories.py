"""Factories shared across the test packages: a small valid MARF and its variations."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def london_today() -> date:
    return datetime.now(LONDON).date()


def make_marf(**overrides: Any) -> dict[str, Any]:
    """A small valid MARF (one child of eight, neglect); `overrides` replace top-level fields."""
    today = london_today()
    marf: dict[str, Any] = {
        "request_type": "safety_and_wellbeing",
        "immediate_risk": False,
        "subjects": [
            {
                "kind": "child",
                "given_name": "Sam",
                "family_name": "Example",
                "date_of_birth": today.replace(year=today.year - 8, day=1).isoformat(),
                "gender": "1",
                "nhs_number": "9990001006",
                "address": {"line1": "1 Example Street", "postcode": "BD1 1HY"},
            }
        ],
        "concerns": [{"category": "neglect", "description": "Often hungry at school."}],
        "child_voice": "Sam said there is no food at home.",
        "consent": {
            "state": "given",
            "recorded_by": "Class teacher",
            "recorded_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        },
        "referrer": {
            "name": "A. Teacher",
            "role": "DSL",
            "email": "dsl@example.sch.uk",
            "referral_source": "2A",
        },
    }
    marf.update(overrides)
    if marf.get("child_voice") is None:
        marf.pop("child_voice", None)
    return marf


def with_subject(marf: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A copy of `marf` with its first subject's fields replaced."""
    out = copy.deepcopy(marf)
    out["subjects"][0].update(fields)
    return out
