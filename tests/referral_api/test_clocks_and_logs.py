"""Deadlines from the council's calendar; nothing identifying in the logs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import httpx
import pytest
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from referral_api.calendars import forget_calendars
from services.models.platform import ClosureDay, CouncilCalendar
from tests.factories import make_marf, with_subject

HOURS = {str(d): ["08:30", "17:00"] for d in range(5)}


@pytest.fixture
def fresh_calendars() -> Iterator[None]:
    forget_calendars()
    yield
    forget_calendars()


class TestCouncilCalendar:
    async def test_a_council_closure_day_is_skipped(
        self,
        client: httpx.AsyncClient,
        referrer: dict[str, str],
        session: AsyncSession,
        fresh_calendars: None,
        wide_call_window: object,
    ) -> None:
        session.add(CouncilCalendar(council_id="demo", name="Demo", office_hours=HOURS))
        session.add(ClosureDay(council_id="demo", day=date(2026, 11, 23), reason="closure"))
        await session.flush()
        # Friday 16:00 -> Monday is closed -> Tuesday 16:00.
        marf = make_marf(follow_up_to_phone_call={"call_at": "2026-11-20T16:00:00+00:00"})
        body = (await client.post("/v1/referrals", json=marf, headers=referrer)).json()
        assert datetime.fromisoformat(body["decision_due_at"]) == datetime.fromisoformat(
            "2026-11-24T16:00:00+00:00"
        )


class TestNothingIdentifyingInLogs:
    async def test_submission_and_errors_log_ids_only(
        self, client: httpx.AsyncClient, referrer: dict[str, str]
    ) -> None:
        marf = with_subject(make_marf(), given_name="Zebedee", family_name="Quintessential")
        with structlog.testing.capture_logs() as logs:
            response = await client.post("/v1/referrals", json=marf, headers=referrer)
            assert response.status_code == 201
            bad = with_subject(marf, nhs_number="9990001007")
            response = await client.post("/v1/referrals", json=bad, headers=referrer)
            assert response.status_code == 422
        output = repr(logs)
        assert "'route': '/v1/referrals', 'status': 201" in output
        for secret in ("Zebedee", "Quintessential", "9990001006", "9990001007", "BD1 1HY"):
            assert secret not in output
