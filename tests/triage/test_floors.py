"""Concern-category floors: each concern's lowest proposal, whatever the rule set says."""

from __future__ import annotations

from typing import Any, get_args

import pytest

from services.contracts.codes import ConcernCategory
from triage.rules.bradford import BRADFORD_RULE_SET
from triage.rules.engine import CompiledRuleSet
from triage.rules.facts import Facts
from triage.rules.floors import FLOORS, council_level
from triage.rules.model import RuleSetBody

FOUR_LEVELS = BRADFORD_RULE_SET["levels"]
ADVICE = {"level": 1, "lane": "advice", "contact_type": "other", "rag": "green"}


def facts(*categories: str, **values: Any) -> dict[str, Any]:
    return Facts.model_validate({"concern_categories": list(categories), **values}).model_dump(
        mode="json"
    )


def engine(rules: list[dict[str, Any]] | None = None, levels: Any = FOUR_LEVELS) -> CompiledRuleSet:
    body = {"levels": levels, "defaults": ADVICE, "rules": rules or []}
    return CompiledRuleSet(RuleSetBody.model_validate(body), version=1)


# Category -> (level, lowest RAG, lanes the contact may not be left in).
EXPECTED = {
    "cse": (4, "red"),
    "cce": (4, "red"),
    "missing": (4, "red"),
    "sexual_abuse": (4, "red"),
    "physical_abuse": (4, "red"),
    "fgm": (4, "red"),
    "domestic_abuse": (3, "amber"),
    "emotional_abuse": (3, "amber"),
    "radicalisation": (3, "amber"),
    "private_fostering": (3, "amber"),
    "neglect": (2, "green"),
    "self_harm": (2, "green"),
    "substance_misuse": (2, "green"),
    "parental_mental_health": (2, "green"),
    "ehe": (2, "green"),
    "other": (1, "green"),
}


def test_every_category_the_marf_offers_has_a_floor() -> None:
    assert set(FLOORS) == set(get_args(ConcernCategory)) == set(EXPECTED)


class TestEveryCategoryHasItsFloor:
    @pytest.mark.parametrize("category", sorted(EXPECTED))
    def test_a_rule_set_with_no_rules_cannot_go_below_the_floor(self, category: str) -> None:
        level, rag = EXPECTED[category]
        result = engine().evaluate(facts(category))
        assert result.level == level
        assert result.rag == rag
        if level >= 3:
            assert (result.lane, result.contact_type) == ("mash", "referral")
        elif level == 2:
            assert (result.lane, result.contact_type) == ("early_help", "early_help_request")
        else:  # "other": free text, no floor above universal
            assert (result.lane, result.concern_floors) == ("advice", [])
        if level > 1:
            (floor,) = result.concern_floors
            assert floor.category == category
            assert floor.level == level
            assert f"Concern floor ({category})" in floor.reason

    @pytest.mark.parametrize("category", sorted(c for c, (lv, _) in EXPECTED.items() if lv > 1))
    def test_a_rule_that_asks_for_advice_is_overruled(self, category: str) -> None:
        advise = {
            "id": "advise",
            "when": {"all": [{"fact": "concern_categories", "op": "contains", "value": category}]},
            "then": {"level": 1, "lane": "advice", "contact_type": "advice_information",
                     "rag": "green", "reason": "advice only"},
        }  # fmt: skip
        result = engine([advise]).evaluate(facts(category))
        assert result.level == EXPECTED[category][0]
        assert result.lane != "advice"
        assert [f.rule_id for f in result.fired] == ["advise"]
        assert [f.category for f in result.concern_floors] == [category]


class TestBradfordWithTheFloors:
    @pytest.mark.parametrize("category", ["cse", "cce", "missing"])
    def test_exploitation_without_a_flag_is_never_advice(self, category: str) -> None:
        result = engine(BRADFORD_RULE_SET["rules"]).evaluate(facts(category, flags=[]))
        assert (result.level, result.lane, result.rag, result.priority) == (4, "mash", "red", 1)
        assert [f.category for f in result.concern_floors] == [category]

    def test_a_floor_that_changes_nothing_is_not_named(self) -> None:
        # Neglect is level 3 in Bradford's rules already: above its floor of 2.
        result = engine(BRADFORD_RULE_SET["rules"]).evaluate(facts("neglect"))
        assert (result.level, result.concern_floors) == (3, [])

    def test_rules_may_go_higher_than_the_floor(self) -> None:
        result = engine(BRADFORD_RULE_SET["rules"]).evaluate(
            facts("self_harm", immediate_risk=True)
        )
        assert (result.level, result.priority, result.concern_floors) == (4, 0, [])

    def test_the_highest_floor_wins_and_each_that_raised_is_named(self) -> None:
        result = engine().evaluate(facts("neglect", "cce"))
        assert (result.level, result.lane, result.rag) == (4, "mash", "red")
        # Neglect's floor (2) is already met once CCE's (4) has raised the proposal.
        assert [f.category for f in result.concern_floors] == ["cce"]

    @pytest.mark.parametrize("category", ["cse", "cce", "missing"])
    def test_significant_harm_on_a_dv_notification_goes_to_the_mash(self, category: str) -> None:
        result = engine(BRADFORD_RULE_SET["rules"]).evaluate(
            facts(
                "domestic_abuse",
                category,
                contact_kind="dv_notification",
                dv_risk_level="standard",
            )
        )
        assert (result.lane, result.level, result.rag) == ("mash", 4, "red")
        assert [f.category for f in result.concern_floors] == [category]

    def test_a_dv_notification_stays_in_joint_screening(self) -> None:
        result = engine(BRADFORD_RULE_SET["rules"]).evaluate(
            facts("domestic_abuse", contact_kind="dv_notification", dv_risk_level="standard")
        )
        assert (result.lane, result.level) == ("dv_screening", 3)


class TestCouncilLevels:
    def test_a_council_with_fewer_levels_uses_the_next_one_up(self) -> None:
        assert council_level(2, [1, 4]) == 4
        assert council_level(3, [1, 2, 3, 4, 5]) == 3
        assert council_level(4, [1, 2, 3]) == 3

    def test_floor_reason_names_the_councils_level(self) -> None:
        levels = [{"level": 1, "name": "Universal"}, {"level": 4, "name": "Statutory"}]
        (floor,) = engine(levels=levels).evaluate(facts("cse")).concern_floors
        assert floor.reason.startswith("Concern floor (cse): never below level 4 (Statutory)")
