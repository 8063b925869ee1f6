"""Managers' reports: in progress, unallocated over 7 days, KPI scorecard per contact type."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.triage.conftest import dv_notification, phone_contact

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
