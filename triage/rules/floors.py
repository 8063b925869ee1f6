"""Concern-category floors: the lowest proposal a concern can get, whatever the rule set says.

A MARF describing exploitation is never advice-level (domain §5a): the concern category is
as much a signal as a ticked flag. Every category the MARF offers has a floor here (a level
in the Continuum's 1-4 numbering, a lowest RAG, and the lanes it may not stay in). The engine
applies the floors after the rules, like the immediate-risk safety floor, so no published
rule set can go below them; a rule may always go higher. Plain words in
docs/continuum-rules.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, get_args

from services.contracts.codes import ConcernCategory


@dataclass(frozen=True)
class Floor:
    level: int
    rag: str
    why: str


# Levels in Bradford's numbering (1 universal ... 4 significant harm). Exploitation, missing,
# sexual and physical abuse and FGM are significant harm until shown otherwise (Working
# Together; Bradford's Continuum places them at level 4). Domestic abuse (the child is a
# victim in their own right, DA Act 2021), emotional abuse, radicalisation (Prevent/Channel)
# and private fostering (the council must assess every arrangement) need a social worker's
# assessment view: level 3. The additional-needs categories are never universal-only: level 2.
# "Other" is free text the rules cannot read: it has no floor above universal.
FLOORS: dict[str, Floor] = {
    "cse": Floor(4, "red", "child sexual exploitation is significant harm"),
    "cce": Floor(4, "red", "child criminal exploitation is significant harm"),
    "missing": Floor(4, "red", "a missing child is a key exploitation risk"),
    "sexual_abuse": Floor(4, "red", "sexual abuse is significant harm"),
    "physical_abuse": Floor(4, "red", "physical abuse is significant harm"),
    "fgm": Floor(4, "red", "FGM is significant harm and a crime"),
    "domestic_abuse": Floor(3, "amber", "a child living with domestic abuse is a victim"),
    "emotional_abuse": Floor(3, "amber", "emotional abuse needs an assessment view"),
    "radicalisation": Floor(3, "amber", "radicalisation needs a Prevent/Channel view"),
    "private_fostering": Floor(3, "amber", "every private fostering arrangement is assessed"),
    "neglect": Floor(2, "green", "neglect is never a universal-only need"),
    "self_harm": Floor(2, "green", "self-harm is never a universal-only need"),
    "substance_misuse": Floor(2, "green", "substance misuse is never a universal-only need"),
    "parental_mental_health": Floor(
        2, "green", "parental mental health is never a universal-only need"
    ),
    "ehe": Floor(2, "green", "elective home education concerns need an agency's support"),
    "other": Floor(1, "green", "free text: the social worker reads it"),
}

assert set(FLOORS) == set(get_args(ConcernCategory)), "every concern category has a floor"

RAG_ORDER = {"green": 0, "amber": 1, "red": 2}
# The lanes a floor lifts a contact out of, and where it goes instead.
NOT_AT_LEVEL_2 = frozenset({"advice"})
NOT_AT_LEVEL_3 = frozenset({"advice"})
# Significant harm is worked in the MASH now, as the immediate-risk floor does: a CSE concern
# on a police DV notification is not left to the DV screeners, who may route to advice.
NOT_AT_LEVEL_4 = frozenset({"advice", "early_help", "dv_screening"})
# Contact types that say "no front-door service": a floor of 3 or more makes it a referral.
UNSERVED_TYPES = frozenset({"other", "advice_information"})


@dataclass(frozen=True)
class FloorApplied:
    category: str
    level: int
    reason: str


def council_level(floor_level: int, levels: Iterable[int]) -> int:
    """The council's own level for a floor: the lowest of its levels at or above the floor
    (a council with fewer levels uses its highest)."""
    ordered = sorted(levels)
    return next((lv for lv in ordered if lv >= floor_level), ordered[-1])


def _lane_for(lane: str, floor_level: int) -> str:
    if floor_level >= 4 and lane in NOT_AT_LEVEL_4:
        return "mash"
    if floor_level == 3 and lane in NOT_AT_LEVEL_3:
        return "mash"
    if floor_level == 2 and lane in NOT_AT_LEVEL_2:
        return "early_help"
    return lane


def _type_for(contact_type: str, floor_level: int) -> str:
    if contact_type not in UNSERVED_TYPES:
        return contact_type
    if floor_level >= 3:
        return "referral"
    return "early_help_request" if floor_level == 2 else contact_type


def apply_floors(
    result: Mapping[str, Any], facts: Mapping[str, Any], level_names: Mapping[int, str]
) -> tuple[dict[str, Any], list[FloorApplied]]:
    """The proposal raised to every concern's floor, and the floors that raised it."""
    out = dict(result)
    applied: list[FloorApplied] = []
    for category in sorted(set(facts.get("concern_categories") or ())):
        floor = FLOORS.get(category)
        if floor is None or floor.level <= 1:
            continue
        level = council_level(floor.level, level_names)
        if _raise(out, floor, level):
            label = level_names.get(level, str(level))
            reason = f"Concern floor ({category}): never below level {level} ({label}): "
            reason += f"{floor.why}."
            applied.append(FloorApplied(category=category, level=level, reason=reason))
    return out, applied


def _raise(out: dict[str, Any], floor: Floor, level: int) -> bool:
    before = (out["level"], out["lane"], out["contact_type"], out["rag"])
    out["level"] = max(out["level"], level)
    out["lane"] = _lane_for(out["lane"], floor.level)
    out["contact_type"] = _type_for(out["contact_type"], floor.level)
    if RAG_ORDER[out["rag"]] < RAG_ORDER[floor.rag]:
        out["rag"] = floor.rag
    return before != (out["level"], out["lane"], out["contact_type"], out["rag"])
