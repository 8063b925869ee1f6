"""The pure evaluator: a rule set and a contact's facts in, an explained proposal out.

Rules are tried in order; every rule whose conditions hold is reported as fired, with the
facts it matched. For each outcome field the first fired rule that sets it wins (a
first-hit decision table); `stop` ends evaluation. Fields no rule set come from the
defaults. Then the concern-category floors (triage.rules.floors) raise the proposal to the
lowest each concern allows, and the safety floor: immediate risk or an allegation of
significant harm puts the contact at the top of the queue (priority 0, red, a lane that a
social worker works now) whatever the rules said, and the result says so.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from triage.rules.facts import CATALOGUE
from triage.rules.floors import FloorApplied, apply_floors
from triage.rules.model import Condition, RuleSetBody

Predicate = Callable[[Any, Any], bool]

RAG_PRIORITY = {"red": 1, "amber": 2, "green": 3}
SAFETY_FLOOR_PRIORITY = 0
# Lanes where a qualified social worker acts the same day; anything else is lifted to MASH.
URGENT_LANES = frozenset({"mash", "out_of_hours", "lado"})
SAFETY_FACTS = ("immediate_risk", "significant_harm_alleged")


def _set(value: Iterable[Any] | None) -> frozenset[Any]:
    return frozenset(value or ())


PREDICATES: dict[str, Predicate] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": lambda f, v: f is not None and f > v,
    "gte": lambda f, v: f is not None and f >= v,
    "lt": lambda f, v: f is not None and f < v,
    "lte": lambda f, v: f is not None and f <= v,
    "in": lambda f, v: f in v,
    "not_in": lambda f, v: f not in v,
    "is_true": lambda f, _: f is True,
    "is_false": lambda f, _: f is False,
    "is_null": lambda f, _: f is None,
    "not_null": lambda f, _: f is not None,
    "contains": lambda f, v: v in _set(f),
    "not_contains": lambda f, v: v not in _set(f),
    "contains_any": lambda f, v: not _set(f).isdisjoint(v),
    "contains_all": lambda f, v: _set(f).issuperset(v),
    "contains_none": lambda f, v: _set(f).isdisjoint(v),
    "is_empty": lambda f, _: not f,
    "not_empty": lambda f, _: bool(f),
}


@dataclass(frozen=True)
class FiredRule:
    rule_id: str
    reason: str
    matched: dict[str, Any]


@dataclass
class Evaluation:
    level: int
    level_name: str
    lane: str
    contact_type: str
    rag: str
    priority: int
    safety_floor: bool
    safety_floor_reasons: list[str] = field(default_factory=list)
    fired: list[FiredRule] = field(default_factory=list)
    rule_set_version: int | None = None
    # The concern-category floors that raised the rules' proposal (triage.rules.floors).
    concern_floors: list[FloorApplied] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _CompiledCondition:
    fact: str
    test: Predicate
    value: Any

    def holds(self, facts: Mapping[str, Any]) -> bool:
        return self.test(facts.get(self.fact), self.value)


@dataclass(frozen=True)
class _CompiledRule:
    id: str
    all: tuple[_CompiledCondition, ...]
    any: tuple[_CompiledCondition, ...]
    outcome: dict[str, Any]
    reason: str
    stop: bool

    def match(self, facts: Mapping[str, Any]) -> dict[str, Any] | None:
        for cond in self.all:
            if not cond.holds(facts):
                return None
        matched = {c.fact: facts.get(c.fact) for c in self.all}
        if self.any:
            hits = [c for c in self.any if c.holds(facts)]
            if not hits:
                return None
            matched.update({c.fact: facts.get(c.fact) for c in hits})
        return matched


def _compile_condition(cond: Condition) -> _CompiledCondition:
    value = frozenset(cond.value) if isinstance(cond.value, list) else cond.value
    if CATALOGUE[cond.fact].kind == "set" and cond.op in ("eq", "ne"):
        value = frozenset(value)
    return _CompiledCondition(cond.fact, PREDICATES[cond.op], value)


class CompiledRuleSet:
    """A validated rule set prepared once for fast repeated evaluation."""

    def __init__(self, body: RuleSetBody, version: int | None = None) -> None:
        self.version = version
        self.level_names = {lv.level: lv.name for lv in body.levels}
        self.defaults = body.defaults.model_dump()
        self.rules = tuple(
            _CompiledRule(
                id=r.id,
                all=tuple(_compile_condition(c) for c in r.when.all),
                any=tuple(_compile_condition(c) for c in r.when.any),
                outcome=r.then.model_dump(
                    include={"level", "lane", "contact_type", "rag"}, exclude_none=True
                ),
                reason=r.then.reason,
                stop=r.then.stop,
            )
            for r in body.rules
        )

    def evaluate(self, facts: Mapping[str, Any]) -> Evaluation:
        chosen: dict[str, Any] = {}
        fired: list[FiredRule] = []
        for rule in self.rules:
            matched = rule.match(facts)
            if matched is None:
                continue
            fired.append(FiredRule(rule.id, rule.reason, matched))
            for key, value in rule.outcome.items():
                chosen.setdefault(key, value)
            if rule.stop:
                break
        result, floors = apply_floors({**self.defaults, **chosen}, facts, self.level_names)
        return self._with_safety_floor(result, fired, facts, floors)

    def _with_safety_floor(
        self,
        result: dict[str, Any],
        fired: list[FiredRule],
        facts: Mapping[str, Any],
        floors: list[FloorApplied],
    ) -> Evaluation:
        reasons = [name for name in SAFETY_FACTS if facts.get(name) is True]
        lane, rag = result["lane"], result["rag"]
        priority = RAG_PRIORITY[rag]
        if reasons:
            priority, rag = SAFETY_FLOOR_PRIORITY, "red"
            lane = lane if lane in URGENT_LANES else "mash"
        return Evaluation(
            level=result["level"],
            level_name=self.level_names.get(result["level"], str(result["level"])),
            lane=lane,
            contact_type=result["contact_type"],
            rag=rag,
            priority=priority,
            safety_floor=bool(reasons),
            safety_floor_reasons=reasons,
            fired=fired,
            rule_set_version=self.version,
            concern_floors=floors,
        )


def evaluate(body: RuleSetBody, facts: Mapping[str, Any], version: int | None = None) -> Evaluation:
    """One-off evaluation (compile + evaluate); use CompiledRuleSet for many contacts."""
    return CompiledRuleSet(body, version).evaluate(facts)
