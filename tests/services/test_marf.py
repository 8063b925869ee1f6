"""The MARF schema: every validation rule has a failing input, and the examples pass."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from services.contracts.marf import Marf

TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
CONTEXT = {"today": TODAY, "now": NOW}
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"

BASE: dict[str, Any] = {
    "request_type": "safety_and_wellbeing",
    "immediate_risk": False,
    "subjects": [
        {
            "kind": "child",
            "given_name": "Sam",
            "family_name": "Example",
            "date_of_birth": "2018-05-01",
            "nhs_number": "9990001006",
            "upn": "H801200001001",
            "address": {"line1": "1 Example Street", "postcode": "BD1 1HY"},
        }
    ],
    "household": [
        {
            "given_name": "Pat",
            "family_name": "Example",
            "relationships": [{"subject_index": 0, "relationship": "mother"}],
        }
    ],
    "concerns": [{"category": "neglect", "description": "Often hungry."}],
    "child_voice": "Sam said he is hungry.",
    "consent": {"state": "given", "recorded_by": "DSL", "recorded_at": "2026-11-23T09:00:00Z"},
    "referrer": {"name": "A. Teacher", "email": "dsl@example.sch.uk", "referral_source": "2A"},
}

UNBORN: dict[str, Any] = {
    "kind": "unborn",
    "expected_due_date": "2027-03-01",
    "mother": {"given_name": "Jo", "family_name": "Example"},
}


def changed(path: str, value: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """BASE with the value at a dotted path replaced (`...` deletes it)."""
    marf = copy.deepcopy(base or BASE)
    *parents, last = path.split(".")
    node: Any = marf
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    key: Any = int(last) if last.isdigit() else last
    if value is ...:
        del node[key]
    else:
        node[key] = value
    return marf


def unborn(**fields: Any) -> dict[str, Any]:
    return changed("subjects.0", {**UNBORN, **fields})


def errors(marf: Any) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        Marf.model_validate(marf, context=CONTEXT)
    return {
        ".".join(str(p) for p in e["loc"]): e["msg"].removeprefix("Value error, ")
        for e in caught.value.errors()
    }


# (rule, invalid MARF, the path that must be reported)
RULES: list[tuple[str, dict[str, Any], str]] = [
    ("unknown top-level field", changed("colour", "blue"), "colour"),
    ("unknown nested field", changed("subjects.0.colour", "blue"), "subjects.0.colour"),
    ("request type from the list", changed("request_type", "help"), "request_type"),
    ("immediate_risk is required", changed("immediate_risk", ...), "immediate_risk"),
    ("at least one subject", changed("subjects", []), "subjects"),
    ("at most 15 subjects", changed("subjects", BASE["subjects"] * 16), "subjects"),
    ("subject kind from the list", changed("subjects.0.kind", "adult"), "subjects.0.kind"),
    (
        "born subject needs a DOB",
        changed("subjects.0.date_of_birth", ...),
        "subjects.0.date_of_birth",
    ),
    (
        "DOB not in the future",
        changed("subjects.0.date_of_birth", "2026-11-24"),
        "subjects.0.date_of_birth",
    ),
    (
        "over 25 refused",
        changed("subjects.0.date_of_birth", "2000-11-22"),
        "subjects.0.date_of_birth",
    ),
    (
        "18-25 needs a reason",
        changed("subjects.0.date_of_birth", "2005-01-01"),
        "subjects.0.over_18_reason",
    ),
    (
        "reason other needs detail",
        changed(
            "subjects.0",
            {**BASE["subjects"][0], "date_of_birth": "2005-01-01", "over_18_reason": "other"},
        ),
        "subjects.0.over_18_reason_detail",
    ),
    (
        "born subject needs a given name",
        changed("subjects.0.given_name", ...),
        "subjects.0.given_name",
    ),
    (
        "born subject needs a family name",
        changed("subjects.0.family_name", ...),
        "subjects.0.family_name",
    ),
    (
        "due date only for unborn",
        changed("subjects.0.expected_due_date", "2027-01-01"),
        "subjects.0.expected_due_date",
    ),
    ("unborn needs a due date", unborn(expected_due_date=None), "subjects.0.expected_due_date"),
    (
        "due date not long past",
        unborn(expected_due_date="2026-10-01"),
        "subjects.0.expected_due_date",
    ),
    (
        "due date within 10 months",
        unborn(expected_due_date="2027-10-01"),
        "subjects.0.expected_due_date",
    ),
    ("unborn has no DOB", unborn(date_of_birth="2026-11-01"), "subjects.0.date_of_birth"),
    ("unborn needs the mother", unborn(mother=None), "subjects.0.mother"),
    ("gender is a CIN code", changed("subjects.0.gender", "M"), "subjects.0.gender"),
    (
        "NHS number check digit",
        changed("subjects.0.nhs_number", "9990001007"),
        "subjects.0.nhs_number",
    ),
    ("NHS number shape", changed("subjects.0.nhs_number", "99900010"), "subjects.0.nhs_number"),
    ("UPN check letter", changed("subjects.0.upn", "A801200001001"), "subjects.0.upn"),
    ("UK postcode", changed("subjects.0.address.postcode", "12345"), "subjects.0.address.postcode"),
    ("school URN digits", changed("subjects.0.school_urn", "12AB"), "subjects.0.school_urn"),
    (
        "education status from the list",
        changed("subjects.0.education_status", "x"),
        "subjects.0.education_status",
    ),
    ("CIN ethnicity code", changed("subjects.0.ethnicity", "white"), "subjects.0.ethnicity"),
    (
        "looked after needs the placing authority",
        changed("subjects.0.looked_after", {"is_looked_after": True}),
        "subjects.0.looked_after.placing_authority",
    ),
    ("text is bounded", changed("subjects.0.given_name", "x" * 201), "subjects.0.given_name"),
    ("no empty text", changed("subjects.0.given_name", "   "), "subjects.0.given_name"),
    ("no control characters", changed("subjects.0.given_name", "Sa\x00m"), "subjects.0.given_name"),
    (
        "mother's NHS number checked",
        unborn(mother={**UNBORN["mother"], "nhs_number": "1"}),
        "subjects.0.mother.nhs_number",
    ),
    (
        "relationship to an existing subject",
        changed("household.0.relationships.0.subject_index", 3),
        "household.0.relationships.0.subject_index",
    ),
    (
        "a person relates to a subject",
        changed("household.0.relationships", []),
        "household.0.relationships",
    ),
    (
        "relationship from the list",
        changed("household.0.relationships.0.relationship", "boss"),
        "household.0.relationships.0.relationship",
    ),
    ("at most 30 people", changed("household", BASE["household"] * 31), "household"),
    ("at least one concern", changed("concerns", []), "concerns"),
    (
        "concern category from the list",
        changed("concerns.0.category", "bad"),
        "concerns.0.category",
    ),
    (
        "concern description bounded",
        changed("concerns.0.description", "x" * 8001),
        "concerns.0.description",
    ),
    ("child voice bounded", changed("child_voice", "x" * 8001), "child_voice"),
    ("consent state from the list", changed("consent.state", "maybe"), "consent.state"),
    ("not sought needs a reason", changed("consent.state", "not_sought"), "consent.reason"),
    ("dispensed needs a reason", changed("consent.state", "dispensed"), "consent.reason"),
    (
        "consent time has an offset",
        changed("consent.recorded_at", "2026-11-23T09:00:00"),
        "consent.recorded_at",
    ),
    (
        "consent time not in the future",
        changed("consent.recorded_at", "2026-11-24T09:00:00Z"),
        "consent.recorded_at",
    ),
    (
        "referral source is a CIN code",
        changed("referrer.referral_source", "99"),
        "referrer.referral_source",
    ),
    ("anonymity is for the public", changed("referrer.anonymous", True), "referrer.anonymous"),
    ("a named referrer", changed("referrer.name", ...), "referrer.name"),
    ("a way to contact the referrer", changed("referrer.email", ...), "referrer.phone"),
    ("email is an email", changed("referrer.email", "not-an-email"), "referrer.email"),
    ("phone is a phone number", changed("referrer.phone", "call me"), "referrer.phone"),
    ("level 1 to 4", changed("referrer_view_of_level", 5), "referrer_view_of_level"),
    (
        "call time not in the future",
        changed("follow_up_to_phone_call", {"call_at": "2026-11-23T13:00:00Z"}),
        "follow_up_to_phone_call.call_at",
    ),
    (
        "call time has an offset",
        changed("follow_up_to_phone_call", {"call_at": "2026-11-23T10:00:00"}),
        "follow_up_to_phone_call.call_at",
    ),
]


class TestMarfRules:
    def test_the_base_marf_is_valid(self) -> None:
        assert Marf.model_validate(BASE, context=CONTEXT).subjects[0].nhs_number == "9990001006"

    @pytest.mark.parametrize(("rule", "marf", "path"), RULES, ids=[r[0] for r in RULES])
    def test_rule_reports_its_field(self, rule: str, marf: dict[str, Any], path: str) -> None:
        assert path in errors(marf), rule

    def test_all_broken_rules_are_reported_together(self) -> None:
        marf = unborn(expected_due_date=None, date_of_birth="2026-01-01", mother=None)
        marf = changed("consent.state", "dispensed", marf)
        assert set(errors(marf)) == {
            "subjects.0.expected_due_date",
            "subjects.0.date_of_birth",
            "subjects.0.mother",
            "consent.reason",
        }

    def test_errors_never_quote_the_identifier(self) -> None:
        found = errors(changed("subjects.0.nhs_number", "9990001007"))
        assert "9990001007" not in json.dumps(found)


class TestMarfAccepts:
    def test_a_care_leaver_up_to_25(self) -> None:
        subject = {
            **BASE["subjects"][0],
            "date_of_birth": "2002-01-01",
            "over_18_reason": "care_leaver",
        }
        Marf.model_validate(changed("subjects.0", subject), context=CONTEXT)

    def test_a_recently_born_baby_still_reported_as_unborn(self) -> None:
        Marf.model_validate(unborn(expected_due_date="2026-11-01"), context=CONTEXT)

    def test_an_anonymous_member_of_the_public(self) -> None:
        referrer = {"referral_source": "1D", "anonymous": True}
        marf = Marf.model_validate(changed("referrer", referrer), context=CONTEXT)
        assert marf.referrer.anonymous

    def test_missing_child_voice_is_accepted_and_flagged(self) -> None:
        assert Marf.model_validate(changed("child_voice", ...), context=CONTEXT).child_voice_missing

    def test_identifiers_are_stored_normalised(self) -> None:
        marf = changed("subjects.0.nhs_number", "999 000 1006")
        marf = changed("subjects.0.address.postcode", "bd11hy", marf)
        subject = Marf.model_validate(marf, context=CONTEXT).subjects[0]
        assert (subject.nhs_number, subject.address and subject.address.postcode) == (
            "9990001006",
            "BD1 1HY",
        )

    def test_referrer_email_is_checked_every_time_and_stored_normalised(self) -> None:
        # The check is remembered per address: a refusal must not be, nor leak across values.
        for _ in range(2):
            with pytest.raises(ValidationError) as caught:
                Marf.model_validate(changed("referrer.email", "dsl@@example.org"), context=CONTEXT)
            assert [e["loc"] for e in caught.value.errors()] == [("referrer", "email")]
        for _ in range(2):
            marf = changed("referrer.email", "DSL@Example.SCH.UK")
            referrer = Marf.model_validate(marf, context=CONTEXT).referrer
            assert referrer.email == "DSL@example.sch.uk"

    @pytest.mark.parametrize("path", sorted(EXAMPLES.glob("marf-*.json")), ids=lambda p: p.stem)
    def test_documented_examples_validate(self, path: Path) -> None:
        Marf.model_validate(json.loads(path.read_text()), context=CONTEXT)

    def test_the_stored_dump_validates_again_for_triage(self) -> None:
        marf = Marf.model_validate(BASE, context=CONTEXT)
        assert Marf.model_validate(marf.facts_json(), context=CONTEXT) == marf


LATER = {"today": date(2045, 1, 1), "now": datetime(2045, 1, 1, tzinfo=UTC)}


class TestStoredMarfs:
    """Triage reads stored MARFs back later, when "today" has moved on."""

    def test_time_relative_rules_fail_when_judged_years_later(self) -> None:
        with pytest.raises(ValidationError):
            Marf.model_validate(unborn(), context=LATER)

    @pytest.mark.parametrize(
        "marf",
        [unborn(), BASE, changed("subjects.0.date_of_birth", "2008-11-24")],
        ids=["due date passed", "child over 25 now", "turned 18 without a reason"],
    )
    def test_a_stored_marf_validates_whenever_it_is_read(self, marf: dict[str, Any]) -> None:
        Marf.model_validate(marf, context={**LATER, "stored": True})

    def test_a_stored_marf_still_obeys_every_other_rule(self) -> None:
        with pytest.raises(ValidationError, match="check digit"):
            Marf.model_validate(
                changed("subjects.0.nhs_number", "9990001007"), context={"stored": True}
            )
