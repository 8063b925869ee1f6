"""The checks a decision must pass (pure): every failing field with its path and reason.

- NFA needs its reason; any other outcome a primary need code (CIN census).
- The level is one of the council's.
- Consistency: the (contact type, outcome, level) combination is in the council's table.
- Consent by level: at levels 2-3 without consent only outcomes that need none (advice,
  signposting, NFA); proceeding without consent is for level 4 (significant harm) and needs
  the reason and who decided. A level above the proposal needs the reason it was raised.
- Per child: each line (level, need code, outcome) passes the same checks.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from services.errors import FieldError
from triage.contacts.outcomes import CONSENT_LEVELS, NO_CONSENT_OUTCOMES, SIGNIFICANT_HARM_LEVEL
from triage.contacts.schemas import DecisionCreate

AllowedTable = Mapping[str, Mapping[str, Collection[int]]]


@dataclass(frozen=True)
class DecisionContext:
    levels: Collection[int]
    contact_consent: str | None
    proposed_level: int
    allowed: AllowedTable
    positions: Collection[int]


@dataclass(frozen=True)
class Line:
    prefix: str
    level: int
    outcome: str
    primary_need_code: str | None
    nfa_reason: str | None


def decision_errors(body: DecisionCreate, ctx: DecisionContext) -> list[FieldError]:
    group = Line("", body.level, body.outcome, body.primary_need_code, body.nfa_reason)
    errors = _line_errors(body, group, ctx)
    errors += _raised_level_errors(body, ctx)
    errors += _children_errors(body, ctx)
    errors += _without_consent_errors(body, [group, *_child_lines(body)], ctx)
    errors += _consent_given_by_errors(body)
    return errors


def _line_errors(body: DecisionCreate, line: Line, ctx: DecisionContext) -> list[FieldError]:
    errors: list[FieldError] = []
    if line.outcome == "nfa" and not line.nfa_reason:
        errors.append(FieldError(path=f"{line.prefix}nfa_reason", reason="NFA needs a reason"))
    if line.outcome != "nfa" and line.primary_need_code is None:
        errors.append(
            FieldError(
                path=f"{line.prefix}primary_need_code", reason="required unless the outcome is NFA"
            )
        )
    if line.level not in ctx.levels:
        errors.append(
            FieldError(path=f"{line.prefix}level", reason="not a level of the council's Continuum")
        )
        return errors
    errors += _consistency_errors(body.contact_type, line, ctx.allowed)
    errors += _consent_errors(body, line, ctx)
    return errors


def _consistency_errors(contact_type: str, line: Line, allowed: AllowedTable) -> list[FieldError]:
    row = allowed.get(contact_type, {})
    if line.level in row.get(line.outcome, ()):
        return []
    fits = sorted(o for o, levels in row.items() if line.level in levels)
    article = "an" if contact_type[0] in "aeiou" else "a"
    reason = (
        f"{article} {contact_type} contact cannot have outcome {line.outcome} "
        f"at level {line.level}; at level {line.level} it may have: {', '.join(fits) or 'none'}"
    )
    return [FieldError(path=f"{line.prefix}outcome", reason=reason)]


def _consent_errors(body: DecisionCreate, line: Line, ctx: DecisionContext) -> list[FieldError]:
    consent = body.consent_state or ctx.contact_consent
    if consent == "given" or line.outcome in NO_CONSENT_OUTCOMES:
        return []
    if line.level in CONSENT_LEVELS:
        return [
            FieldError(
                path=f"{line.prefix}outcome",
                reason=f"without consent at level {line.level} only advice, signposting or NFA: "
                "record consent given, or raise the level to 4 (significant harm) with "
                "level_reason",
            )
        ]
    return []


def _without_consent_errors(
    body: DecisionCreate, lines: list[Line], ctx: DecisionContext
) -> list[FieldError]:
    """Proceeding without consent at level 4, for the group or any one child, needs the
    reason and who decided (asked once, on the decision)."""
    consent = body.consent_state or ctx.contact_consent
    if consent == "given" or not any(
        line.level in ctx.levels
        and line.level >= SIGNIFICANT_HARM_LEVEL
        and line.outcome not in NO_CONSENT_OUTCOMES
        for line in lines
    ):
        return []
    errors: list[FieldError] = []
    if not body.consent_reason:
        errors.append(
            FieldError(
                path="consent_reason",
                reason="proceeding without consent at level 4 needs the reason: the "
                "significant harm that seeking consent would risk or that overrides it",
            )
        )
    if not body.consent_decided_by:
        errors.append(
            FieldError(
                path="consent_decided_by", reason="say who decided to proceed without consent"
            )
        )
    return errors


def _consent_given_by_errors(body: DecisionCreate) -> list[FieldError]:
    """Who gave consent goes only with consent given or refused (the census audit's measure)."""
    if body.consent_given_by and body.consent_state not in ("given", "refused"):
        return [
            FieldError(
                path="consent_given_by",
                reason="only for consent given or refused, recorded with the decision",
            )
        ]
    return []


def _raised_level_errors(body: DecisionCreate, ctx: DecisionContext) -> list[FieldError]:
    levels = [body.level, *(c.level for c in body.children or () if c.level is not None)]
    highest = max((lv for lv in levels if lv in ctx.levels), default=0)
    if highest > ctx.proposed_level and not body.level_reason:
        return [
            FieldError(
                path="level_reason",
                reason=f"the level is above the proposal (level {ctx.proposed_level}): "
                "record why it was raised",
            )
        ]
    return []


def _child_lines(body: DecisionCreate) -> list[Line]:
    """Each child's line as given, what it omits taken from the group's."""
    return [
        Line(
            f"children.{i}.",
            child.level if child.level is not None else body.level,
            child.outcome or body.outcome,
            child.primary_need_code or body.primary_need_code,
            child.nfa_reason or body.nfa_reason,
        )
        for i, child in enumerate(body.children or ())
    ]


def _children_errors(body: DecisionCreate, ctx: DecisionContext) -> list[FieldError]:
    errors: list[FieldError] = []
    seen: set[int] = set()
    for child, line in zip(body.children or (), _child_lines(body), strict=True):
        if child.position not in ctx.positions:
            errors.append(
                FieldError(path=f"{line.prefix}position", reason="not a child on the contact")
            )
        elif child.position in seen:
            errors.append(
                FieldError(path=f"{line.prefix}position", reason="each child has one line")
            )
        seen.add(child.position)
        errors += _line_errors(body, line, ctx)
    return errors


def child_lines(body: DecisionCreate, positions: Collection[int]) -> list[dict[str, object]]:
    """One line per child on the contact: its own where given, else the group's."""
    given = {c.position: c for c in body.children or ()}
    lines: list[dict[str, object]] = []
    for position in sorted(positions):
        child = given.get(position)
        outcome = (child.outcome if child else None) or body.outcome
        lines.append(
            {
                "position": position,
                "level": child.level if child and child.level is not None else body.level,
                "primary_need_code": (child.primary_need_code if child else None)
                or body.primary_need_code,
                "outcome": outcome,
                "nfa_reason": ((child.nfa_reason if child else None) or body.nfa_reason)
                if outcome == "nfa"
                else None,
            }
        )
    return lines
