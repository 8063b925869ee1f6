"""Managers' reports: in progress, unallocated over 7 days, KPI scorecard per contact type."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from services.calendar import WorkingCalendar
from tests.triage.conftest import dv_notification, phone_contact
from triage.council.config import config_from
from triage.reports.operational import population_rate

Headers = dict[str, str]


class TestReports:
    async def test_in_progress_lists_open_contacts_with_age_and_deadline(
        self, client: httpx.AsyncClient, worker: Headers, manager: Headers
    ) -> None:
        received = datetime.now(UTC) - timedelta(hours=30)
        created = (
            await client.post(
                "/v1/contacts", json=phone_contact(received_at=received.isoformat()), headers=worker
            )
        ).json()
        report = (await client.get("/v1/reports/in-progress", headers=manager)).json()
        row = next(r for r in report["rows"] if r["id"] == created["id"])
        assert 29.9 <= row["age_hours"] <= 30.2
        assert row["deadline_at"] == created["deadline_at"]

    async def test_reports_are_for_managers(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        assert (await client.get("/v1/reports/in-progress", headers=worker)).status_code == 403

    async def test_unallocated_after_seven_days(
        self, client: httpx.AsyncClient, worker: Headers, manager: Headers
    ) -> None:
        old = datetime.now(UTC) - timedelta(days=8)
        stale = (
            await client.post(
                "/v1/contacts", json=phone_contact(received_at=old.isoformat()), headers=worker
            )
        ).json()
        fresh = (await client.post("/v1/contacts", json=phone_contact(), headers=worker)).json()
        ids = {
            r["id"]
            for r in (await client.get("/v1/reports/unallocated", headers=manager)).json()["rows"]
        }
        assert stale["id"] in ids
        assert fresh["id"] not in ids

    async def test_scorecard_never_counts_contact_types_together(
        self, client: httpx.AsyncClient, worker: Headers, manager: Headers
    ) -> None:
        for body, outcome, contact_type in (
            (phone_contact(), "early_help", "referral"),
            (dv_notification("high"), "advice_given", "notification"),
        ):
            contact = (await client.post("/v1/contacts", json=body, headers=worker)).json()
            url = f"/v1/contacts/{contact['id']}"
            await client.post(f"{url}/claim", headers=worker)
            decision = {
                "contact_type": contact_type,
                "outcome": outcome,
                "level": 2,
                "primary_need_code": "N1",
                "rationale": "Recorded.",
                "consent_state": "given",
            }
            assert (
                await client.post(f"{url}/decision", json=decision, headers=worker)
            ).status_code == 201
        card = (await client.get("/v1/reports/kpis", headers=manager)).json()
        assert card["contacts_by_type"] == {"notification": 1, "referral": 1}
        timely = [k for k in card["kpis"] if k["name"] == "within_one_working_day"]
        assert {k["contact_type"] for k in timely} == {"notification", "referral"}
        assert all(k["denominator"] == 1 and k["value"] == 1.0 for k in timely)
        consent = next(k for k in card["kpis"] if k["name"] == "consent_recorded")
        assert (consent["target"], consent["polarity"]) == (0.9, "higher_is_better")
        conversion = next(k for k in card["kpis"] if k["name"] == "contact_to_referral_conversion")
        assert (conversion["numerator"], conversion["denominator"]) == (1, 2)


class TestRatePerTenThousandChildren:
    async def test_scorecard_gives_referrals_per_10000_children(
        self, client: httpx.AsyncClient, worker: Headers, manager: Headers
    ) -> None:
        contact = (await client.post("/v1/contacts", json=phone_contact(), headers=worker)).json()
        url = f"/v1/contacts/{contact['id']}"
        await client.post(f"{url}/claim", headers=worker)
        decision = {
            "contact_type": "referral",
            "outcome": "early_help",
            "level": 2,
            "primary_need_code": "N1",
            "rationale": "Recorded.",
            "consent_state": "given",
        }
        assert (
            await client.post(f"{url}/decision", json=decision, headers=worker)
        ).status_code == 201
        card = (await client.get("/v1/reports/kpis", headers=manager)).json()
        rate = card["referrals_per_10000_children"]
        assert (rate["referrals"], rate["child_population"]) == (1, 140_000)
        assert rate["per_10000_children"] == round(10_000 / 140_000, 2)
        assert rate["per_10000_children_annualised"] == round(
            10_000 / 140_000 * 365.25 / rate["period_days"], 1
        )

    def test_rate_is_per_10000_and_annualised(self) -> None:
        start = datetime(2026, 1, 1, tzinfo=UTC)
        rate = population_rate(700, 140_000, start, start + timedelta(days=365.25))
        assert rate is not None
        assert (rate.per_10000_children, rate.per_10000_children_annualised) == (50.0, 50.0)
        quarter = population_rate(175, 140_000, start, start + timedelta(days=365.25 / 4))
        assert quarter is not None
        assert quarter.per_10000_children_annualised == 50.0

    def test_no_rate_without_a_configured_population(self) -> None:
        start = datetime(2026, 1, 1, tzinfo=UTC)
        assert population_rate(5, None, start, start + timedelta(days=28)) is None
        for bad in (None, 0, -5, "140000", True, [1]):
            council = config_from("x", WorkingCalendar(), {"child_population": bad})
            assert council.child_population is None
        assert config_from("x", WorkingCalendar(), {"child_population": 98_000}).child_population
