"""The shape of a rule set (a decision table) and its validation when it is written.

A rule set holds the council's Continuum levels, the defaults a contact gets when no rule
sets a field, and ordered rules. Each rule has conditions (`all` must hold, and at least one
of `any` when given) over the fact catalogue, using a closed set of operators, and an
outcome. Validation returns every problem with its path, so a 422 lists them all.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.errors import FieldError, field_errors_from_pydantic
from triage.rules.facts import CATALOGUE, FactSpec

Lane = Literal["mash", "dv_screening", "early_help", "lado", "advice", "out_of_hours"]
ContactType = Literal[
    "referral", "advice_information", "notification", "early_help_request", "lado", "other"
]
Rag = Literal["red", "amber", "green"]

LANES: tuple[str, ...] = ("mash", "dv_screening", "early_help", "lado", "advice", "out_of_hours")

# The closed operator set, by the kind of fact each applies to.
UNARY_OPS = frozenset({"is_true", "is_false", "is_null", "not_null", "is_empty", "not_empty"})
LIST_OPS = frozenset({"in", "not_in", "contains_any", "contains_all", "contains_none"})
OPERATORS: dict[str, frozenset[str]] = {
    "bool": frozenset({"eq", "ne", "is_true", "is_false"}),
    "int": frozenset({"eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "is_null", "not_null"}),
    "str": frozenset({"eq", "ne", "in", "not_in", "is_null", "not_null"}),
    "set": frozenset(
        {"contains", "not_contains", "contains_any", "contains_all", "contains_none"}
        | {"is_empty", "not_empty"}
    ),
}
ALL_OPERATORS = frozenset().union(*OPERATORS.values())

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Words = Annotated[str, Field(min_length=1, max_length=500)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Condition(_Strict):
    fact: Annotated[str, Field(min_length=1, max_length=64)]
    op: Annotated[str, Field(min_length=1, max_length=32)]
    value: Any = None


class When(_Strict):
    all: Annotated[list[Condition], Field(max_length=20)] = []
    any: Annotated[list[Condition], Field(max_length=20)] = []


class Outcome(_Strict):
    level: Annotated[int, Field(ge=1, le=10)] | None = None
    lane: Lane | None = None
    contact_type: ContactType | None = None
    rag: Rag | None = None
    reason: Words
    # Stop evaluating later rules once this one fires.
    stop: bool = False


class Rule(_Strict):
    id: Slug
    description: Words | None = None
    when: When
    then: Outcome


class Level(_Strict):
    level: Annotated[int, Field(ge=1, le=10)]
    name: Annotated[str, Field(min_length=1, max_length=100)]
    description: Words | None = None


class Defaults(_Strict):
    level: Annotated[int, Field(ge=1, le=10)]
    lane: Lane
    contact_type: ContactType
    rag: Rag


class RuleSetBody(_Strict):
    levels: Annotated[list[Level], Field(min_length=1, max_length=10)]
    defaults: Defaults
    rules: Annotated[list[Rule], Field(max_length=500)] = []


def validate_body(raw: object, *, prefix: str = "") -> tuple[RuleSetBody | None, list[FieldError]]:
    """The parsed body, or None and every problem (structure first, then meaning)."""
    try:
        body = RuleSetBody.model_validate(raw)
    except ValidationError as exc:
        return None, _prefixed(field_errors_from_pydantic(exc.errors()), prefix)
    return body, _prefixed(semantic_errors(body), prefix)


def _prefixed(errors: list[FieldError], prefix: str) -> list[FieldError]:
    if not prefix:
        return errors
    return [FieldError(path=f"{prefix}.{e.path}", reason=e.reason) for e in errors]


def semantic_errors(body: RuleSetBody) -> list[FieldError]:
    errors: list[FieldError] = []
    levels = [lv.level for lv in body.levels]
    if len(set(levels)) != len(levels):
        errors.append(FieldError(path="levels", reason="each level appears once"))
    if body.defaults.level not in levels:
        errors.append(FieldError(path="defaults.level", reason="not one of the rule set's levels"))
    seen: set[str] = set()
    for i, rule in enumerate(body.rules):
        path = f"rules.{i}"
        if rule.id in seen:
            errors.append(FieldError(path=f"{path}.id", reason="rule ids must be unique"))
        seen.add(rule.id)
        if rule.then.level is not None and rule.then.level not in levels:
            errors.append(FieldError(path=f"{path}.then.level", reason="not a defined level"))
        if not rule.when.all and not rule.when.any:
            errors.append(FieldError(path=f"{path}.when", reason="a rule needs a condition"))
        for group in ("all", "any"):
            for j, cond in enumerate(getattr(rule.when, group)):
                errors += condition_errors(cond, f"{path}.when.{group}.{j}")
    return errors


def condition_errors(cond: Condition, path: str) -> list[FieldError]:
    spec = CATALOGUE.get(cond.fact)
    if spec is None:
        return [FieldError(path=f"{path}.fact", reason="unknown fact")]
    if cond.op not in ALL_OPERATORS:
        return [FieldError(path=f"{path}.op", reason="unknown operator")]
    if cond.op not in OPERATORS[spec.kind]:
        return [FieldError(path=f"{path}.op", reason=f"not an operator for a {spec.kind} fact")]
    if cond.op in ("is_null", "not_null") and not spec.nullable:
        return [FieldError(path=f"{path}.op", reason="this fact is never empty")]
    reason = _value_problem(cond, spec)
    return [FieldError(path=f"{path}.value", reason=reason)] if reason else []


def _value_problem(cond: Condition, spec: FactSpec) -> str | None:
    if cond.op in UNARY_OPS:
        return None if cond.value is None else "this operator takes no value"
    if cond.op in LIST_OPS:
        if not isinstance(cond.value, list) or not cond.value or len(cond.value) > 50:
            return "a list of 1 to 50 values is required"
        problems = [_scalar_problem(v, spec) for v in cond.value]
        return next((p for p in problems if p), None)
    return _scalar_problem(cond.value, spec)


def _scalar_problem(value: object, spec: FactSpec) -> str | None:
    if spec.kind == "bool":
        return None if isinstance(value, bool) else "a true/false value is required"
    if spec.kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else "a whole number is required"
    if not isinstance(value, str):
        return "a text value is required"
    if spec.values is not None and value not in spec.values:
        return f"not an allowed value (one of: {', '.join(sorted(spec.values))})"
    return None
