"""The council's triage configuration, read from its calendar row's `settings`.

Which outcomes need a team manager's sign-off, how long feedback may take and how many
children live in the area (for rates per 10,000 children) differ between councils
(domain: "make it data, not code").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.calendar import WorkingCalendar
from services.calendar_store import load_calendar
from triage.contacts.outcomes import DEFAULT_ALLOWED_DECISIONS
from triage.council import repository

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
    return CouncilConfig(
        council_id=council_id,
        calendar=calendar,
        outcomes_needing_sign_off=frozenset(raw.get("outcomes_needing_sign_off", DEFAULT_SIGN_OFF)),
        feedback_working_days=int(raw.get("feedback_working_days", 1)),
        child_population=_population(raw.get("child_population")),
        dv_single_screening_standard_risk=raw.get("dv_single_screening_standard_risk") is True,
        allowed_decisions=_allowed(raw.get("allowed_decisions")),
    )


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
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw < 1:
        return None
    return int(raw)


async def load_council(session: AsyncSession, council_id: str) -> CouncilConfig:
    calendar = await load_calendar(session, council_id)
    return config_from(council_id, calendar, await repository.settings(session, council_id))
