"""The scorecard's indicators (pure): what each measures, its target, and which way is better.

Targets are the audits' improved figures and the councils' published ambitions; a council may
set its own in its settings (`kpi_targets`). Direction of travel compares a period with the
one just before it, by the indicator's polarity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

# Neutral: a measure to watch, neither higher nor lower better (its direction is only
# "higher"/"lower", never improving or worsening, and it is never on or off target).
Polarity = Literal["higher_is_better", "lower_is_better", "neutral"]
Direction = Literal["improving", "worsening", "unchanged", "not_comparable", "higher", "lower"]
Rating = Literal[
    "on_target", "improving", "worsening", "unchanged", "off_target", "no_data", "not_rated"
]


@dataclass(frozen=True)
class Indicator:
    name: str
    target: float
    polarity: Polarity
    meaning: str


def _ind(name: str, target: float, polarity: Polarity, meaning: str) -> Indicator:
    return Indicator(name, target, polarity, meaning)


HIGHER: Polarity = "higher_is_better"
LOWER: Polarity = "lower_is_better"
NEUTRAL: Polarity = "neutral"

# Per decided contact type (never mixed: Bradford's audit found mixing distorted the figures).
PER_TYPE = (
    # Working Together: decision within one working day of receipt (same clock time next day).
    _ind(
        "decided_within_one_working_day",
        0.9,
        HIGHER,
        "Decided contacts whose decision was made by the one-working-day deadline.",
    ),
    # Bradford audit: contacts completed within 24 hours rose from 30% to 84%.
    _ind(
        "completed_within_24_hours",
        0.84,
        HIGHER,
        "Decided contacts completed within 24 hours of receipt.",
    ),
    # Birmingham: every contact processed within 48 hours.
    _ind(
        "completed_within_48_hours",
        0.95,
        HIGHER,
        "Decided contacts completed within 48 hours of receipt.",
    ),
    # Bradford audit (72% -> 50%): consent recorded for the decision, with its outcome and,
    # when given or refused, who gave it; not sought or dispensed needs the reason.
    _ind(
        "consent_recorded_for_decision",
        0.9,
        HIGHER,
        "Decisions recording consent's outcome and who gave it (or why it was not sought).",
    ),
    # Audits found the child's voice in 3 of 11 contacts.
    _ind("child_voice_recorded", 0.9, HIGHER, "Decided contacts recording the child's voice."),
    # Bradford audit: feedback to referrer rose from 36% to 70%.
    _ind(
        "feedback_given",
        0.7,
        HIGHER,
        "Decided contacts whose referrer wanted feedback and was given it.",
    ),
    # "NFA" must never be a catch-all: every NFA carries its reason.
    _ind("nfa_reason_recorded", 1.0, HIGHER, "NFA decisions that record the reason."),
)
# Referrals only: Bradford 21%, Birmingham 24-25%.
RE_REFERRAL = _ind(
    "re_referral_within_12_months",
    0.21,
    LOWER,
    "Referrals for a child referred (a decided referral) in the 12 months before.",
)
# Bradford: 9,934 referrals of 32,038 contacts: the target is a reference figure, not a goal.
# Neutral: more referrals is not better (over-referral) nor fewer (missed need); it is watched.
CONVERSION = _ind(
    "contact_to_referral_conversion",
    0.31,
    NEUTRAL,
    "Decided contacts that were decided as referrals (per contact, not per child).",
)
# Operation Encompass (DA Act 2021 s.49A): before the start of the next school day.
ENCOMPASS = (
    _ind(
        "encompass_delivered_before_school_day",
        1.0,
        HIGHER,
        "Alerts to schools delivered before the start of the next school day.",
    ),
    _ind("encompass_acknowledged", 0.95, HIGHER, "Alerts to schools acknowledged by the DSL."),
    _ind(
        "encompass_welfare_check_recorded",
        0.95,
        HIGHER,
        "Alerts to schools whose welfare check the DSL recorded.",
    ),
)
# MASH screening timescales, one indicator per RAG (never mixed: a red contact's few hours
# and a green one's days are different promises). The contact's latest screening rating
# and its MASH clock (kind `mash`): met by the deadline the rating gave.
MASH_RAGS = ("red", "amber", "green")
MASH = tuple(
    _ind(
        f"mash_{rag}_met_within_timescale",
        0.95,
        HIGHER,
        f"Contacts screened {rag} whose MASH work was completed within the {rag} timescale.",
    )
    for rag in MASH_RAGS
)
ALL = (*PER_TYPE, RE_REFERRAL, CONVERSION, *ENCOMPASS, *MASH)


def with_targets(overrides: Mapping[str, object]) -> dict[str, Indicator]:
    """The indicators by name, with the council's own targets where it set a number in 0-1."""
    out: dict[str, Indicator] = {}
    for ind in ALL:
        raw = overrides.get(ind.name)
        ok = isinstance(raw, int | float) and not isinstance(raw, bool) and 0 <= raw <= 1
        out[ind.name] = Indicator(ind.name, float(raw), ind.polarity, ind.meaning) if ok else ind  # type: ignore[arg-type]
    return out


def ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def meets(value: float | None, target: float, polarity: Polarity) -> bool | None:
    if value is None or polarity == NEUTRAL:
        return None
    return value >= target if polarity == HIGHER else value <= target


def direction(current: float | None, previous: float | None, polarity: Polarity) -> Direction:
    """Better or worse than the period before, by polarity (not comparable without both)."""
    if current is None or previous is None:
        return "not_comparable"
    if current == previous:
        return "unchanged"
    if polarity == NEUTRAL:
        return "higher" if current > previous else "lower"
    better = current > previous if polarity == HIGHER else current < previous
    return "improving" if better else "worsening"


def rating(
    current: float | None, previous: float | None, target: float, polarity: Polarity
) -> Rating:
    """On target; else the direction of travel; off target when there is nothing to compare."""
    if current is None:
        return "no_data"
    if polarity == NEUTRAL:
        return "not_rated"
    if meets(current, target, polarity):
        return "on_target"
    return _TRAVEL_RATING.get(direction(current, previous, polarity), "off_target")


_TRAVEL_RATING: dict[Direction, Rating] = {
    "improving": "improving",
    "worsening": "worsening",
    "unchanged": "unchanged",
}
