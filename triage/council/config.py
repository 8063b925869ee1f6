"""The council's triage configuration, read from its calendar row's `settings`.

Which outcomes need a team manager's sign-off, how long feedback may take and how many
children live in the area (for rates per 10,000 children) differ between councils
(domain: "make it data, not code").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.calendar import WorkingCalendar
from services.calendar_store import load_calendar
from triage.contacts.outcomes import DEFAULT_ALLOWED_DECISIONS
from triage.council import repository

log = structlog.get_logger(__name__)

# contact type -> outcome -> the levels at which the outcome is consistent with the type.
AllowedDecisions = dict[str, dict[str, frozenset[int]]]

# Without configuration: the outcomes that close a contact or start statutory work.
DEFAULT_SIGN_OFF = ("nfa", "s17_assessment", "strategy_discussion", "s47_enquiry")


@dataclass(frozen=True)
class CouncilConfig:
    council_id: str
    calendar: WorkingCalendar
    outcomes_needing_sign_off: frozenset[str]
    feedback_working_days: int
    # Children (0-17) living in the council's area, for "rate per 10,000 children".
    child_population: int | None = None
    # Joint DV screening is the default; a council may let one screener route standard risk.
    dv_single_screening_standard_risk: bool = False
    allowed_decisions: AllowedDecisions | None = None

    @property
    def decisions_table(self) -> AllowedDecisions:
        return self.allowed_decisions or _table(DEFAULT_ALLOWED_DECISIONS)


def config_from(council_id: str, calendar: WorkingCalendar, raw: dict[str, Any]) -> CouncilConfig:
    """The council's configuration; a malformed setting is ignored (logged, naming the setting
    and never a child) for its default, never an error on every request that reads it."""
    return CouncilConfig(
        council_id=council_id,
        calendar=calendar,
        outcomes_needing_sign_off=_outcomes(raw.get("outcomes_needing_sign_off")),
        feedback_working_days=_working_days(raw.get("feedback_working_days")),
        child_population=_population(raw.get("child_population")),
        dv_single_screening_standard_risk=raw.get("dv_single_screening_standard_risk") is True,
        allowed_decisions=_allowed(raw.get("allowed_decisions")),
    )


def ignored(setting: str, reason: str) -> None:
    """Log a council setting that is ignored because it is malformed (its name, not its value)."""
    log.warning("council_setting_ignored", setting=setting, reason=reason)


def _outcomes(raw: object) -> frozenset[str]:
    if raw is None:
        return frozenset(DEFAULT_SIGN_OFF)
    if not isinstance(raw, list) or not all(isinstance(o, str) for o in raw):
        ignored("outcomes_needing_sign_off", "not_a_list_of_outcomes")
        return frozenset(DEFAULT_SIGN_OFF)
    return frozenset(raw)


# Feedback to a referrer is due within days, not years: a larger setting is a mistake.
MAX_FEEDBACK_WORKING_DAYS = 60


def _working_days(raw: object) -> int:
    if raw is None:
        return 1
    days: int | None = None
    if isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():
        days = int(raw)  # ASCII only: "²" is a digit to str.isdigit() but not to int()
    elif isinstance(raw, float) and raw.is_integer():
        days = int(raw)
    elif isinstance(raw, int) and not isinstance(raw, bool):
        days = raw
    if days is not None and 0 <= days <= MAX_FEEDBACK_WORKING_DAYS:
        return days
    ignored("feedback_working_days", "not_a_whole_number_of_days")
    return 1


def _table(raw: dict[str, dict[str, Any]]) -> AllowedDecisions:
    return {t: {o: frozenset(levels) for o, levels in row.items()} for t, row in raw.items()}


def _allowed(raw: object) -> AllowedDecisions | None:
    """The council's own table when it is well formed (type -> outcome -> [levels]); a
    malformed one is ignored for the default rather than letting every decision through."""
    if not isinstance(raw, dict) or not raw:
        return None
    for row in raw.values():
        if not isinstance(row, dict):
            return None
        for levels in row.values():
            if not isinstance(levels, list) or not all(
                isinstance(lv, int) and not isinstance(lv, bool) for lv in levels
            ):
                return None
    return _table(raw)


def _population(raw: object) -> int | None:
    """A positive whole number of children, else unknown (the rate is then not shown)."""
    if raw is None:
        return None
    if (
        isinstance(raw, bool)
        or not isinstance(raw, int | float)
        or not math.isfinite(raw)
        or raw < 1
    ):
        ignored("child_population", "not_a_positive_number")
        return None
    return int(raw)


async def load_council(session: AsyncSession, council_id: str) -> CouncilConfig:
    calendar = await load_calendar(session, council_id)
    return config_from(council_id, calendar, await repository.settings(session, council_id))
