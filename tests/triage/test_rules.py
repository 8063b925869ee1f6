"""The rule engine: validation on write, the pure evaluator, the safety floor, diffs."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage.rules.bradford import BRADFORD_RULE_SET
from triage.rules.diff import diff_bodies
from triage.rules.engine import CompiledRuleSet, evaluate
from triage.rules.facts import Facts
from triage.rules.model import RuleSetBody, validate_body

LEVELS = [{"level": 1, "name": "Universal"}, {"level": 4, "name": "Statutory"}]
DEFAULTS = {"level": 1, "lane": "advice", "contact_type": "other", "rag": "green"}


def body_with(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"levels": LEVELS, "defaults": DEFAULTS, "rules": list(rules)}


def rule(rule_id: str, *conds: dict[str, Any], **then: Any) -> dict[str, Any]:
    return {"id": rule_id, "when": {"all": list(conds)}, "then": {"reason": rule_id, **then}}


def facts(**values: Any) -> dict[str, Any]:
    return Facts.model_validate(values).model_dump(mode="json")


def bradford() -> CompiledRuleSet:
    body, errors = validate_body(BRADFORD_RULE_SET)
    assert body is not None
    assert errors == []
    return CompiledRuleSet(body, version=1)


class TestValidation:
    def test_the_bradford_rule_set_is_valid(self) -> None:
        assert validate_body(BRADFORD_RULE_SET)[1] == []

    def test_unknown_fact_is_reported_at_its_path(self) -> None:
        raw = body_with(rule("r1", {"fact": "shoe_size", "op": "eq", "value": 3}, level=4))
        _, errors = validate_body(raw, prefix="body")
        assert [(e.path, e.reason) for e in errors] == [
            ("body.rules.0.when.all.0.fact", "unknown fact")
        ]

    def test_unknown_operator_is_reported(self) -> None:
        raw = body_with(rule("r1", {"fact": "immediate_risk", "op": "regex", "value": "x"}))
        assert [e.path for e in validate_body(raw)[1]] == ["rules.0.when.all.0.op"]

    def test_operator_must_suit_the_fact(self) -> None:
        raw = body_with(rule("r1", {"fact": "immediate_risk", "op": "gt", "value": 1}))
        (error,) = validate_body(raw)[1]
        assert error.reason == "not an operator for a bool fact"

    def test_value_must_be_an_allowed_code(self) -> None:
        cond = {"fact": "concern_categories", "op": "contains", "value": "bad_vibes"}
        (error,) = validate_body(body_with(rule("r1", cond)))[1]
        assert error.path == "rules.0.when.all.0.value"
        assert error.reason.startswith("not an allowed value")

    def test_every_problem_is_listed_together(self) -> None:
        raw = body_with(
            rule("dup", {"fact": "nope", "op": "eq", "value": 1}),
            rule("dup", {"fact": "youngest_age", "op": "lt", "value": "five"}, level=3),
        )
        paths = sorted(e.path for e in validate_body(raw)[1])
        assert paths == [
            "rules.0.when.all.0.fact",
            "rules.1.id",
            "rules.1.then.level",
            "rules.1.when.all.0.value",
        ]

    def test_structure_errors_carry_paths(self) -> None:
        raw = {"levels": [], "defaults": {**DEFAULTS, "lane": "space"}, "rules": "x"}
        paths = {e.path for e in validate_body(raw)[1]}
        assert {"levels", "defaults.lane", "rules"} <= paths

    def test_unary_operators_take_no_value(self) -> None:
        raw = body_with(rule("r1", {"fact": "immediate_risk", "op": "is_true", "value": True}))
        (error,) = validate_body(raw)[1]
        assert error.reason == "this operator takes no value"

    def test_null_checks_only_on_facts_that_may_be_empty(self) -> None:
        raw = body_with(rule("r1", {"fact": "subject_count", "op": "is_null"}))
        assert validate_body(raw)[1][0].reason == "this fact is never empty"


class TestEvaluator:
    def test_first_rule_that_sets_a_field_wins_and_all_fired_are_named(self) -> None:
        body = RuleSetBody.model_validate(
            body_with(
                rule(
                    "neglect",
                    {"fact": "concern_categories", "op": "contains", "value": "neglect"},
                    level=4,
                    lane="mash",
                ),
                rule(
                    "young", {"fact": "youngest_age", "op": "lt", "value": 5}, level=1, rag="amber"
                ),
            )
        )
        result = evaluate(body, facts(concern_categories=["neglect"], youngest_age=2), version=7)
        assert (result.level, result.lane, result.rag) == (4, "mash", "amber")
        assert [f.rule_id for f in result.fired] == ["neglect", "young"]
        assert result.fired[1].matched == {"youngest_age": 2}
        assert result.rule_set_version == 7
        assert result.level_name == "Statutory"

    def test_stop_ends_evaluation(self) -> None:
        body = RuleSetBody.model_validate(
            body_with(
                rule("first", {"fact": "unborn", "op": "is_true"}, rag="amber", stop=True),
                rule("second", {"fact": "unborn", "op": "is_true"}, level=4),
            )
        )
        result = evaluate(body, facts(unborn=True))
        assert [f.rule_id for f in result.fired] == ["first"]
        assert result.level == 1

    def test_any_group_needs_one_hit_and_reports_it(self) -> None:
        raw = body_with()
        raw["rules"] = [
            {
                "id": "either",
                "when": {
                    "any": [
                        {"fact": "flags", "op": "contains", "value": "cse"},
                        {"fact": "dv_risk_level", "op": "in", "value": ["high", "medium"]},
                    ]
                },
                "then": {"reason": "x", "level": 4},
            }
        ]
        body = RuleSetBody.model_validate(raw)
        assert evaluate(body, facts(dv_risk_level="medium")).fired[0].matched == {
            "dv_risk_level": "medium"
        }
        assert evaluate(body, facts(dv_risk_level="standard")).fired == []

    def test_defaults_apply_when_nothing_fires(self) -> None:
        result = evaluate(RuleSetBody.model_validate(body_with()), facts())
        assert (result.level, result.lane, result.contact_type, result.priority) == (
            1,
            "advice",
            "other",
            3,
        )


class TestSafetyFloor:
    def test_immediate_risk_tops_the_queue_whatever_the_rules_say(self) -> None:
        body = RuleSetBody.model_validate(
            body_with(
                rule(
                    "all-advice",
                    {"fact": "subject_count", "op": "gte", "value": 0},
                    lane="advice",
                    rag="green",
                )
            )
        )
        result = evaluate(body, facts(immediate_risk=True))
        assert (result.priority, result.rag, result.lane) == (0, "red", "mash")
        assert result.safety_floor
        assert result.safety_floor_reasons == ["immediate_risk"]

    def test_significant_harm_allegation_is_on_the_floor_too(self) -> None:
        result = evaluate(
            RuleSetBody.model_validate(body_with()), facts(significant_harm_alleged=True)
        )
        assert result.priority == 0
        assert result.safety_floor_reasons == ["significant_harm_alleged"]

    def test_floor_keeps_an_urgent_lane_the_rules_chose(self) -> None:
        result = bradford().evaluate(facts(immediate_risk=True, in_office_hours=False))
        assert (result.lane, result.priority) == ("out_of_hours", 0)


class TestBradfordRules:
    @pytest.mark.parametrize(
        ("given", "level", "lane", "contact_type"),
        [
            ({"concern_categories": ["neglect"]}, 3, "mash", "referral"),
            ({"contact_kind": "dv_notification", "dv_risk_level": "high"}, 4, "mash", "referral"),
            (
                {"contact_kind": "dv_notification", "dv_risk_level": "standard"},
                1,
                "dv_screening",
                "notification",
            ),
            ({"contact_kind": "consultation"}, 1, "advice", "advice_information"),
            ({"allegation_against_professional": True}, 4, "lado", "lado"),
            (
                {"concern_categories": ["parental_mental_health"]},
                2,
                "early_help",
                "early_help_request",
            ),
            ({"flags": ["missing"]}, 4, "mash", "referral"),
            ({"previous_referrals_12m": 2, "concern_categories": ["other"]}, 3, "mash", "referral"),
            ({"unborn": True, "concern_categories": ["substance_misuse"]}, 3, "mash", "referral"),
            (
                {"request_type": "complex_health_disability_assessment"},
                3,
                "early_help",
                "early_help_request",
            ),
            ({"concern_categories": ["sexual_abuse"]}, 4, "mash", "referral"),
        ],
    )
    def test_demo_rules_propose_level_and_lane(
        self, given: dict[str, Any], level: int, lane: str, contact_type: str
    ) -> None:
        result = bradford().evaluate(facts(**given))
        assert (result.level, result.lane, result.contact_type) == (level, lane, contact_type)
        assert result.fired, "a proposal names the rules behind it"


class TestDiff:
    def test_added_removed_changed_and_order(self) -> None:
        old = RuleSetBody.model_validate(BRADFORD_RULE_SET)
        raw = copy.deepcopy(BRADFORD_RULE_SET)
        removed = raw["rules"].pop(0)
        raw["rules"][0]["then"]["rag"] = "amber"
        raw["rules"].append(rule("new-rule", {"fact": "looked_after", "op": "is_true"}, level=3))
        changes = diff_bodies(old, RuleSetBody.model_validate(raw))
        assert [r["id"] for r in changes["rules_added"]] == ["new-rule"]
        assert [r["id"] for r in changes["rules_removed"]] == [removed["id"]]
        assert [r["id"] for r in changes["rules_changed"]] == [raw["rules"][0]["id"]]
        assert changes["defaults"] is None
        assert changes["levels_changed"] is False


FACT_VALUES = st.fixed_dictionaries(
    {
        "concern_categories": st.lists(
            st.sampled_from(["neglect", "domestic_abuse", "sexual_abuse", "other", "ehe"]),
            max_size=3,
            unique=True,
        ),
        "immediate_risk": st.booleans(),
        "significant_harm_alleged": st.booleans(),
        "contact_kind": st.sampled_from(["marf", "concern", "dv_notification", "consultation"]),
        "dv_risk_level": st.sampled_from([None, "standard", "medium", "high"]),
        "in_office_hours": st.booleans(),
        "previous_referrals_12m": st.integers(min_value=0, max_value=5),
        "allegation_against_professional": st.booleans(),
        "unborn": st.booleans(),
    }
)


class TestEngineProperties:
    @given(FACT_VALUES)
    @settings(max_examples=300, deadline=None)
    def test_safety_floor_holds_for_any_facts(self, values: dict[str, Any]) -> None:
        result = bradford().evaluate(facts(**values))
        on_floor = values["immediate_risk"] or values["significant_harm_alleged"]
        assert result.safety_floor == on_floor
        if on_floor:
            assert (result.priority, result.rag) == (0, "red")
            assert result.lane in {"mash", "out_of_hours", "lado"}
        else:
            assert result.priority >= 1

    @given(FACT_VALUES)
    @settings(max_examples=200, deadline=None)
    def test_every_fired_rule_matched_the_facts_it_names(self, values: dict[str, Any]) -> None:
        given_facts = facts(**values)
        for fired in bradford().evaluate(given_facts).fired:
            assert fired.matched
            for name, value in fired.matched.items():
                assert given_facts[name] == value
