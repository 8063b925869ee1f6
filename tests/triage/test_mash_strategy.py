"""Strategy discussions: formal or not, decision, actions, ICPC clock, shareable summary."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.triage import TriageClock
from tests.conftest import TokenFactory
from tests.triage.mash_support import Headers, audit_actions, new_contact
from tests.triage.test_contacts_api import WITHOUT_CONSENT_AT_4

HELD = "2026-11-23T14:00:00+00:00"  # the contact arrived at 09:00 that Monday


def discussion(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "held_at": HELD,
        "formal": True,
        "participants": [
            {"name": "A. Social Worker", "role": "Team manager", "agency": "Children's services"},
            {"name": "DS Example", "role": "Detective sergeant", "agency": "Police"},
            {"name": "N. Nurse", "role": "Safeguarding nurse", "agency": "Health"},
        ],
        "information_shared": "Police hold two DA call-outs; health visitor concerned.",
        "decision": "joint_agency_s47",
        "decision_reason": "Reasonable cause to suspect significant harm.",
        "actions": [
            {"description": "Joint visit", "owner": "DS Example", "due_on": "2026-11-24"},
            {"description": "Health check", "owner": "N. Nurse", "due_on": "2099-01-01"},
        ],
    }
    body.update(overrides)
    return body


async def post(
    client: httpx.AsyncClient, headers: Headers, contact_id: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(
        f"/v1/contacts/{contact_id}/strategy-discussions", json=body, headers=headers
    )


class TestRecord:
    async def test_a_formal_discussion_with_its_participants_and_actions(
        self, client: httpx.AsyncClient, worker: Headers, session: AsyncSession
    ) -> None:
        contact = await new_contact(client, worker)
        response = await post(client, worker, contact["id"], discussion())
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["formal"] is True
        assert [p["agency"] for p in body["participants"]] == [
            "Children's services",
            "Police",
            "Health",
        ]
        assert body["icpc_due_at"] == "2026-12-14T14:00:00Z"  # s47 decided: the ICPC clock
        assert [(a["owner"], a["overdue"]) for a in body["actions"]] == [
            ("DS Example", True),
            ("N. Nurse", False),
        ]
        assert "strategy.record" in await audit_actions(session, contact["id"])

    async def test_an_icpc_is_due_15_working_days_after_the_discussion(
        self, client: httpx.AsyncClient, worker: Headers, session: AsyncSession
    ) -> None:
        contact = await new_contact(client, worker)
        response = await post(client, worker, contact["id"], discussion(decision="icpc"))
        assert response.json()["icpc_due_at"] == "2026-12-14T14:00:00Z"
        clock = await session.scalar(
            select(TriageClock).where(
                TriageClock.contact_id == contact["id"], TriageClock.kind == "icpc"
            )
        )
        assert clock is not None
        assert clock.deadline_at.isoformat() == "2026-12-14T14:00:00+00:00"

    async def icpc_clocks(self, session: AsyncSession, contact_id: str) -> list[str]:
        rows = await session.scalars(
            select(TriageClock).where(
                TriageClock.contact_id == contact_id, TriageClock.kind == "icpc"
            )
        )
        return [c.deadline_at.isoformat() for c in rows.all()]

    @pytest.mark.parametrize("decision", ["single_agency_s47", "joint_agency_s47"])
    async def test_a_discussion_deciding_s47_enquiries_starts_the_icpc_clock(
        self, client: httpx.AsyncClient, worker: Headers, session: AsyncSession, decision: str
    ) -> None:
        contact = await new_contact(client, worker)
        response = await post(client, worker, contact["id"], discussion(decision=decision))
        assert response.json()["icpc_due_at"] == "2026-12-14T14:00:00Z"
        assert await self.icpc_clocks(session, contact["id"]) == ["2026-12-14T14:00:00+00:00"]

    async def test_no_further_action_starts_no_icpc_clock(
        self, client: httpx.AsyncClient, worker: Headers, session: AsyncSession
    ) -> None:
        contact = await new_contact(client, worker)
        response = await post(client, worker, contact["id"], discussion(decision="nfa"))
        assert response.json()["icpc_due_at"] is None
        assert await self.icpc_clocks(session, contact["id"]) == []

    async def test_the_clock_runs_from_the_latest_discussion_held(
        self, client: httpx.AsyncClient, worker: Headers, session: AsyncSession
    ) -> None:
        contact = await new_contact(client, worker)
        await post(client, worker, contact["id"], discussion())
        later = discussion(held_at="2026-11-24T10:00:00+00:00", actions=[])
        assert (await post(client, worker, contact["id"], later)).status_code == 201
        assert await self.icpc_clocks(session, contact["id"]) == ["2026-12-15T10:00:00+00:00"]
        # One held earlier but recorded afterwards does not move it back.
        earlier = discussion(held_at="2026-11-23T12:00:00+00:00", actions=[])
        assert (await post(client, worker, contact["id"], earlier)).status_code == 201
        assert await self.icpc_clocks(session, contact["id"]) == ["2026-12-15T10:00:00+00:00"]

    async def test_the_decision_after_the_discussion_starts_no_second_icpc_clock(
        self, client: httpx.AsyncClient, worker: Headers, session: AsyncSession
    ) -> None:
        contact = await new_contact(client, worker)
        await post(client, worker, contact["id"], discussion())
        cid = contact["id"]
        assert (await client.post(f"/v1/contacts/{cid}/claim", headers=worker)).status_code == 200
        decided = await client.post(
            f"/v1/contacts/{cid}/decision",
            json={
                "contact_type": "referral",
                "outcome": "strategy_discussion",
                "level": 4,
                "primary_need_code": "N1",
                "rationale": "Reasonable cause to suspect significant harm.",
                **WITHOUT_CONSENT_AT_4,
            },
            headers=worker,
        )
        assert decided.status_code == 201, decided.text
        assert await self.icpc_clocks(session, cid) == ["2026-12-14T14:00:00+00:00"]

    async def test_an_out_of_hours_call_must_say_it_was_not_formal_and_why(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact = await new_contact(client, worker)
        without = await post(client, worker, contact["id"], discussion(formal=False))
        assert without.status_code == 422
        assert [f["path"] for f in without.json()["fields"]] == ["not_formal_reason"]
        body = discussion(formal=False, not_formal_reason="EDT and police call at 02:00")
        assert (await post(client, worker, contact["id"], body)).status_code == 201

    async def test_whether_it_was_formal_is_never_assumed(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact = await new_contact(client, worker)
        body = discussion()
        del body["formal"]
        response = await post(client, worker, contact["id"], body)
        assert response.status_code == 422
        assert response.json()["fields"][0]["path"] == "formal"

    async def test_impossible_times_are_422_with_the_field(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact = await new_contact(client, worker)
        early = discussion(held_at="2026-11-22T10:00:00+00:00")
        future = discussion(held_at="2099-01-01T10:00:00+00:00")
        late_action = discussion(
            actions=[{"description": "x", "owner": "y", "due_on": "2026-11-01"}]
        )
        for body, path in (
            (early, "held_at"),
            (future, "held_at"),
            (late_action, "actions.0.due_on"),
        ):
            response = await post(client, worker, contact["id"], body)
            assert response.status_code == 422
            assert path in {f["path"] for f in response.json()["fields"]}
        listed = await client.get(
            f"/v1/contacts/{contact['id']}/strategy-discussions", headers=worker
        )
        assert listed.json() == []  # nothing half-written

    async def test_an_unknown_decision_is_422(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact = await new_contact(client, worker)
        response = await post(client, worker, contact["id"], discussion(decision="maybe"))
        assert response.json()["fields"][0]["path"] == "decision"


class TestActions:
    async def test_an_action_done_is_no_longer_overdue_and_only_once(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact = await new_contact(client, worker)
        made = (await post(client, worker, contact["id"], discussion())).json()
        action = made["actions"][0]
        url = (
            f"/v1/contacts/{contact['id']}/strategy-discussions/{made['id']}"
            f"/actions/{action['id']}/done"
        )
        done = await client.post(url, json={"done_on": "2026-11-30"}, headers=worker)
        assert (done.json()["done_on"], done.json()["overdue"]) == ("2026-11-30", False)
        assert (
            await client.post(url, json={"done_on": "2026-11-30"}, headers=worker)
        ).status_code == 409

    async def test_an_action_cannot_be_done_in_the_future(
        self, client: httpx.AsyncClient, worker: Headers, session: AsyncSession
    ) -> None:
        contact = await new_contact(client, worker)
        made = (await post(client, worker, contact["id"], discussion())).json()
        action = made["actions"][0]
        url = (
            f"/v1/contacts/{contact['id']}/strategy-discussions/{made['id']}"
            f"/actions/{action['id']}/done"
        )
        today = datetime.now(ZoneInfo("Europe/London")).date()
        tomorrow = (today + timedelta(days=1)).isoformat()
        refused = await client.post(url, json={"done_on": tomorrow}, headers=worker)
        assert refused.status_code == 422
        assert [f["path"] for f in refused.json()["fields"]] == ["done_on"]
        assert "strategy.action_done" not in await audit_actions(session, contact["id"])
        done = await client.post(url, json={"done_on": today.isoformat()}, headers=worker)
        assert done.status_code == 200, done.text
        assert done.json()["done_on"] == today.isoformat()

    async def test_an_action_of_another_discussion_is_404(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact = await new_contact(client, worker)
        made = (await post(client, worker, contact["id"], discussion())).json()
        url = (
            f"/v1/contacts/{contact['id']}/strategy-discussions/{made['id']}"
            "/actions/00000000-0000-0000-0000-000000000000/done"
        )
        assert (
            await client.post(url, json={"done_on": "2026-11-30"}, headers=worker)
        ).status_code == 404


class TestSummary:
    async def test_the_summary_carries_the_discussion_and_nothing_more(
        self, client: httpx.AsyncClient, worker: Headers, auth: TokenFactory
    ) -> None:
        contact = await new_contact(client, worker)
        await client.post(
            f"/v1/contacts/{contact['id']}/checks", json={"agencies": ["police"]}, headers=worker
        )
        police = auth("mash_partner", agency_id="police")
        check = (await client.get("/v1/checks", headers=police)).json()[0]
        await client.post(
            f"/v1/checks/{check['id']}/response",
            json={
                "outcome": "answered",
                "known": True,
                "summary": "SECRET-POLICE-INTEL",
                "researched_by": "DC",
            },
            headers=police,
        )
        await client.post(
            f"/v1/contacts/{contact['id']}/notes", json={"text": "PRIVATE-NOTE"}, headers=worker
        )
        made = (await post(client, worker, contact["id"], discussion(decision="icpc"))).json()
        base = f"/v1/contacts/{contact['id']}/strategy-discussions/{made['id']}"
        page = await client.get(f"{base}/summary", headers=worker)
        assert page.status_code == 200
        summary = page.json()
        assert summary["contact_reference"] == contact["reference"]
        assert summary["decision_label"] == "Initial child protection conference"
        assert summary["icpc_due_local"] == "Monday 14 December 2026, 14:00"
        text = await client.get(f"{base}/summary.txt", headers=worker)
        assert text.headers["content-type"].startswith("text/plain")
        assert "DS Example, Detective sergeant, Police" in text.text
        assert "Decision: Initial child protection conference" in text.text
        for leaked in ("SECRET-POLICE-INTEL", "PRIVATE-NOTE", "9990001006", "BD1"):
            assert leaked not in page.text
            assert leaked not in text.text

    async def test_partners_and_referrers_cannot_read_it(
        self, client: httpx.AsyncClient, worker: Headers, auth: TokenFactory
    ) -> None:
        contact = await new_contact(client, worker)
        made = (await post(client, worker, contact["id"], discussion())).json()
        url = f"/v1/contacts/{contact['id']}/strategy-discussions/{made['id']}/summary"
        for role in ("mash_partner", "referrer"):
            headers = auth(role, agency_id="police")
            assert (await client.get(url, headers=headers)).status_code == 403
