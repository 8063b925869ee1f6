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


# --- builders for the council-isolation tests (tests/test_council_isolation_all.py) -------------
# Names no other fixture uses, so "nothing of council A's in council B's answer" is a plain
# search of the body.
ISOLATED_GIVEN_NAME = "Zebulon"
ISOLATED_FAMILY_NAME = "Quillfeather"
ISOLATED_NHS_NUMBER = "9990001006"


def make_phone_contact(**overrides: Any) -> dict[str, Any]:
    """A professional's phone referral for `POST /v1/contacts` (triage), one named child."""
    marf = make_marf()
    subject = {
        **marf["subjects"][0],
        "given_name": ISOLATED_GIVEN_NAME,
        "family_name": ISOLATED_FAMILY_NAME,
        "nhs_number": ISOLATED_NHS_NUMBER,
    }
    body: dict[str, Any] = {
        "channel": "phone",
        "kind": "concern",
        "from_professional": True,
        "referral_source": "3B",
        "referrer": {"name": "H. Visitor", "phone": "01274 000000"},
        "subjects": [subject],
        "concerns": marf["concerns"],
        "summary": "Health visitor rang about the home conditions.",
        # Monday 23 November 2026, 09:00 in London: inside working hours.
        "received_at": "2026-11-23T09:00:00+00:00",
    }
    body.update(overrides)
    return body


def make_dv_notification(**overrides: Any) -> dict[str, Any]:
    """A police DV notification for `POST /v1/contacts` (the DV screening lane)."""
    body = make_phone_contact(
        channel="police_feed",
        kind="dv_notification",
        referral_source="6",
        concerns=[{"category": "domestic_abuse", "description": "Police attended a DA incident."}],
        summary="Overnight DA incident, children present.",
        dv={
            "dash_risk_level": "standard",
            "police_reference": "WYP-ISO001",
            "force_id": "west-yorkshire-police",
            "incident_at": (datetime.now(UTC) - timedelta(hours=6)).isoformat(),
            "adult_roles": ["victim", "suspect"],
        },
    )
    body.pop("referrer")
    body["subjects"][0].update(school_urn="107301", education_status="on_roll")
    body.update(overrides)
    return body


def make_decision(**overrides: Any) -> dict[str, Any]:
    """A complete level-2 early-help decision for `POST /v1/contacts/{id}/decision`."""
    body: dict[str, Any] = {
        "contact_type": "referral",
        "outcome": "early_help",
        "level": 2,
        "primary_need_code": "N1",
        "rationale": "Needs met with early help; family agrees.",
        "consent_state": "given",
    }
    body.update(overrides)
    return body


def make_strategy_discussion(**overrides: Any) -> dict[str, Any]:
    """A formal strategy discussion with one action, for the MASH's strategy route."""
    body: dict[str, Any] = {
        "held_at": "2026-11-23T11:00:00+00:00",
        "formal": True,
        "participants": [
            {"name": "A. Social Worker", "role": "Team manager", "agency": "Children's services"},
            {"name": "DS Example", "role": "Detective sergeant", "agency": "Police"},
            {"name": "N. Nurse", "role": "Safeguarding nurse", "agency": "Health"},
        ],
        "information_shared": "Police hold two DA call-outs; health visitor concerned.",
        "decision": "joint_agency_s47",
        "decision_reason": "Reasonable cause to suspect significant harm.",
        "actions": [{"description": "Joint visit", "owner": "DS Example", "due_on": "2099-01-01"}],
    }
    body.update(overrides)
    return body
