"""The demo council's triage data: Bradford's calendar, office hours, settings, rule set.

Idempotent: running it twice changes nothing (rows are created only when missing).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.platform import CouncilCalendar
from services.models.triage import TriageRuleSet
from services.settings import FrontdoorSettings
from triage.rules.bradford import BRADFORD_RULE_SET
from triage.rules.model import RuleSetBody

# Bradford's advice line: Mon-Thu 08:30-17:00, Fri 08:30-16:30 (Emergency Duty Team otherwise).
BRADFORD_OFFICE_HOURS: dict[str, list[str]] = {
    **{str(d): ["08:30", "17:00"] for d in range(4)},
    "4": ["08:30", "16:30"],
}
DEMO_SETTINGS: dict[str, Any] = {
    "outcomes_needing_sign_off": ["nfa", "s17_assessment", "strategy_discussion", "s47_enquiry"],
    "feedback_working_days": 1,
    # Children aged 0-17 in Bradford district (ONS mid-year estimate, about 140,000).
    "child_population": 140_000,
    # Bradford's local authority code (the CIN census return's LEA).
    "la_code": "380",
}
DEMO_RULE_SET_NAME = "Bradford Continuum of Need (demo)"


async def seed(session: AsyncSession, settings: FrontdoorSettings) -> None:
    """Create the demo council's calendar and publish its rule set, once."""
    council_id = settings.council_id
    row = await session.get(CouncilCalendar, council_id)
    if row is not None and not DEMO_SETTINGS.keys() <= set(row.settings or {}):
        # Seeded by an earlier version: add the settings it lacked, keep what is there.
        row.settings = {**DEMO_SETTINGS, **(row.settings or {})}
    if row is None:
        session.add(
            CouncilCalendar(
                council_id=council_id,
                name="Demo council (Bradford's calendar)",
                timezone="Europe/London",
                office_hours=BRADFORD_OFFICE_HOURS,
                working_day_rule="same_time",
                settings=DEMO_SETTINGS,
            )
        )
    existing = await session.scalar(
        select(TriageRuleSet.id).where(TriageRuleSet.council_id == council_id).limit(1)
    )
    if existing is None:
        body = RuleSetBody.model_validate(BRADFORD_RULE_SET)
        now = datetime.now(UTC)
        session.add(
            TriageRuleSet(
                id=uuid.uuid4(),
                council_id=council_id,
                version=1,
                name=DEMO_RULE_SET_NAME,
                status="published",
                active=True,
                body=body.model_dump(mode="json", exclude_none=True),
                created_by="demo-seed",
                published_at=now,
                published_by="demo-seed",
            )
        )
    await session.flush()
