"""Malformed council settings the reports read: ignored with a warning, never a 500.

A council's settings are free JSON edited by an administrator; a list where a mapping belongs
must not take every report down. Each is ignored for its default, and the warning names the
setting, never a value or a child.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.platform import CouncilCalendar
from tests.triage.reports.factories import add_contact

Headers = dict[str, str]
REPORTS = ("/v1/reports/scorecard", "/v1/reports/in-progress", "/v1/reports/unallocated")


async def set_settings(session: AsyncSession, settings: Any) -> None:
    row = await session.get(CouncilCalendar, "demo")
    assert row is not None
    row.settings = settings
    await session.flush()


async def read_all(client: httpx.AsyncClient, manager: Headers) -> dict[str, Any]:
    bodies = {}
    for path in (*REPORTS, "/v1/reports/kpis"):
        resp = await client.get(path, headers=manager)
        assert resp.status_code == 200, (path, resp.text)
        bodies[path] = resp.json()
    csv = await client.get("/v1/reports/scorecard", params={"format": "csv"}, headers=manager)
    assert csv.status_code == 200
    return bodies


async def a_contact(session: AsyncSession) -> None:
    await add_contact(session, received_at=datetime.now(UTC) - timedelta(days=2))


class TestMalformedSettings:
    @pytest.mark.parametrize("targets", [["feedback_given", 0.8], "0.8", 0.8, True])
    async def test_kpi_targets_that_are_not_a_mapping_are_ignored(
        self, client: httpx.AsyncClient, manager: Headers, seeded: AsyncSession, targets: Any
    ) -> None:
        await a_contact(seeded)
        row = await seeded.get(CouncilCalendar, "demo")
        assert row is not None
        await set_settings(seeded, {**row.settings, "kpi_targets": targets})
        with structlog.testing.capture_logs() as logs:
            card = (await read_all(client, manager))["/v1/reports/scorecard"]
        feedback = next(i for i in card["indicators"] if i["name"] == "feedback_given")
        assert feedback["target"] == 0.7  # the default
        warned = [e for e in logs if e["event"] == "council_setting_ignored"]
        assert warned  # once per scorecard read (the JSON and the CSV)
        assert {(e["log_level"], e["setting"]) for e in warned} == {("warning", "kpi_targets")}

    async def test_kpi_targets_a_mapping_still_sets_targets(
        self, client: httpx.AsyncClient, manager: Headers, seeded: AsyncSession
    ) -> None:
        await a_contact(seeded)
        row = await seeded.get(CouncilCalendar, "demo")
        assert row is not None
        targets = {"feedback_given": 0.8, "child_voice_recorded": "high"}
        await set_settings(seeded, {**row.settings, "kpi_targets": targets})
        card = (await read_all(client, manager))["/v1/reports/scorecard"]
        by_name = {i["name"]: i["target"] for i in card["indicators"]}
        assert (by_name["feedback_given"], by_name["child_voice_recorded"]) == (0.8, 0.9)

    @pytest.mark.parametrize("population", ["lots", -5, [140_000], {"children": 1}, 0.5])
    async def test_a_child_population_that_is_not_a_positive_number_is_ignored(
        self, client: httpx.AsyncClient, manager: Headers, seeded: AsyncSession, population: Any
    ) -> None:
        await a_contact(seeded)
        row = await seeded.get(CouncilCalendar, "demo")
        assert row is not None
        await set_settings(seeded, {**row.settings, "child_population": population})
        with structlog.testing.capture_logs() as logs:
            bodies = await read_all(client, manager)
        card = bodies["/v1/reports/scorecard"]
        assert card["referrals_per_10000_children"] is None
        assert card["referrals_per_10000_children_direction"] == "not_comparable"
        assert bodies["/v1/reports/kpis"]["referrals_per_10000_children"] is None
        warned = {e["setting"] for e in logs if e["event"] == "council_setting_ignored"}
        assert warned == {"child_population"}

    @pytest.mark.parametrize(
        ("setting", "value"),
        [
            ("feedback_working_days", "soon"),
            ("feedback_working_days", [1]),
            ("feedback_working_days", "\u00b2"),  # a digit to str.isdigit(), not to int()
            ("feedback_working_days", 10**9),
            ("feedback_working_days", -1),
            ("outcomes_needing_sign_off", 5),
            ("outcomes_needing_sign_off", "nfa"),
            ("unallocated_decided_days", "a month"),
            ("report_recipients", {"to": "tm@council.example"}),
        ],
    )
    async def test_other_settings_the_reports_read(
        self,
        client: httpx.AsyncClient,
        manager: Headers,
        seeded: AsyncSession,
        setting: str,
        value: Any,
    ) -> None:
        await a_contact(seeded)
        row = await seeded.get(CouncilCalendar, "demo")
        assert row is not None
        await set_settings(seeded, {**row.settings, setting: value})
        card = (await read_all(client, manager))["/v1/reports/scorecard"]
        assert card["contacts"]["decided_by_type"] == {"referral": 1}

    @pytest.mark.parametrize("settings", [["child_population", 140_000], "settings", 7])
    async def test_settings_that_are_not_an_object_are_ignored(
        self, client: httpx.AsyncClient, manager: Headers, seeded: AsyncSession, settings: Any
    ) -> None:
        await a_contact(seeded)
        await set_settings(seeded, settings)
        with structlog.testing.capture_logs() as logs:
            card = (await read_all(client, manager))["/v1/reports/scorecard"]
        assert card["contacts"]["decided_by_type"] == {"referral": 1}
        assert card["referrals_per_10000_children"] is None
        warned = {e["setting"] for e in logs if e["event"] == "council_setting_ignored"}
        assert warned == {"settings"}
