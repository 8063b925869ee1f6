"""The console's /reports page shows the scorecard of GET /v1/reports/scorecard, audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import escape

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.platform import AuditEntry
from tests.triage.reports.factories import add_contact
from tests.web.helpers import sign_in
from triage.wording import LANE_NAMES


async def _audits(session: AsyncSession, action: str) -> int:
    query = select(func.count()).where(AuditEntry.action == action)
    return int(await session.scalar(query) or 0)


class TestReportsPage:
    async def test_the_page_shows_the_scorecard_with_the_period_before_and_audits_it(
        self, client: httpx.AsyncClient, seeded: AsyncSession
    ) -> None:
        now = datetime.now(UTC)
        # This period: 1 of 2 decided on time; the period before: 1 of 4.
        await add_contact(seeded, received_at=now - timedelta(days=3), on_time={"decision": True})
        await add_contact(seeded, received_at=now - timedelta(days=3), on_time={"decision": False})
        for on_time in (True, False, False, False):
            await add_contact(
                seeded, received_at=now - timedelta(days=35), on_time={"decision": on_time}
            )
        await sign_in(client, "team-manager")
        page = await client.get("/reports")
        assert page.status_code == 200, page.text
        assert "with the period before" in page.text
        row = next(
            r
            for r in page.text.split("<tr")
            if ">decided within one working day</td>" in r and ">referral</td>" in r
        )
        assert "50% (1/2)" in row
        assert "25% (1/4)" in row
        assert "Improving" in row
        # The consent indicator as the audit meant it, not "consent state not null".
        assert "consent recorded for decision" in page.text
        assert await _audits(seeded, "report.scorecard") == 1

    async def test_undecided_contacts_are_shown_by_lane(
        self, client: httpx.AsyncClient, seeded: AsyncSession
    ) -> None:
        received = datetime.now(UTC) - timedelta(days=3)
        for lane in ("mash", "dv_screening"):
            await add_contact(
                seeded, received_at=received, contact_type=None, lane=lane,
                on_time={"decision": "unmet"},
            )  # fmt: skip
        await sign_in(client, "team-manager")
        page = await client.get("/reports")
        assert page.status_code == 200, page.text
        rows = [r for r in page.text.split("<tr") if ">decided within one working day</td>" in r]
        for lane in ("mash", "dv_screening"):
            shown = f">undecided ({escape(LANE_NAMES[lane])})</td>"
            assert sum(shown in r for r in rows) == 1, lane
            assert "0% (0/1)" in next(r for r in rows if shown in r)
        assert "Operation Encompass alerts: 0" in page.text
