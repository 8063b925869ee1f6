"""The queue and the work on a contact, through the API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth import Role, mint_token
from services.models.platform import AuditEntry, CouncilCalendar
from services.models.triage import TriageClock, TriageContact
from services.settings import get_settings
from tests.conftest import TokenFactory
from tests.factories import make_marf
from tests.triage.conftest import dv_notification, intake, outbox, phone_contact, referral_event
from triage.clocks.jobs import scan_clocks

Headers = dict[str, str]


async def create(
    client: httpx.AsyncClient, headers: Headers, body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post("/v1/contacts", json=body, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def decision(**overrides: Any) -> dict[str, Any]:
    body = {
        "contact_type": "referral",
        "outcome": "early_help",
        "level": 2,
        "primary_need_code": "N1",
        "rationale": "Needs met with early help; family agrees.",
    }
    body.update(overrides)
    return body


WITHOUT_CONSENT_AT_4 = {
    "consent_state": "refused",
    "consent_reason": "Asking again would alert the alleged abuser: risk of significant harm.",
    "consent_decided_by": "manager-1 (duty team manager)",
    "level_reason": "Police checks: the child is likely to suffer significant harm.",
}


async def claimed(
    client: httpx.AsyncClient, headers: Headers, body: dict[str, Any] | None = None
) -> str:
    contact = await create(client, headers, body or phone_contact())
    response = await client.post(f"/v1/contacts/{contact['id']}/claim", headers=headers)
    assert response.status_code == 200, response.text
    return str(contact["id"])


class TestRecordContact:
    async def test_professional_phone_call_starts_the_written_follow_up_clock(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        call = datetime(2026, 11, 18, 10, tzinfo=UTC)
        contact = await create(client, worker, phone_contact(received_at=call.isoformat()))
        assert contact["reference"].startswith("FDC-2026-")
        clock = next(c for c in contact["clocks"] if c["kind"] == "written_follow_up")
        assert clock["deadline_at"] == "2026-11-19T10:00:00Z"
        assert clock["state"] == "running"

    async def test_public_phone_call_has_no_written_follow_up_clock(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact = await create(
            client, worker, phone_contact(from_professional=False, referral_source="1A")
        )
        assert "written_follow_up" not in {c["kind"] for c in contact["clocks"]}

    async def test_high_risk_dv_goes_to_mash_and_standard_to_screening(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        high = await create(client, worker, dv_notification("high"))
        standard = await create(client, worker, dv_notification("standard"))
        assert (high["lane"], high["level"]) == ("mash", 4)
        assert (standard["lane"], standard["proposal"]["contact_type"]) == (
            "dv_screening",
            "notification",
        )

    async def test_consultation_needs_no_subject(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        body = {
            "channel": "phone",
            "kind": "consultation",
            "referral_source": "2A",
            "summary": "Advice on thresholds.",
        }
        contact = await create(client, worker, body)
        assert (contact["lane"], contact["subjects"]) == ("advice", [])

    async def test_bad_input_lists_every_field(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        body = phone_contact(channel="pigeon", received_at="2099-01-01T00:00:00Z")
        body["subjects"][0]["nhs_number"] = "1234567890"
        response = await client.post("/v1/contacts", json=body, headers=worker)
        assert response.status_code == 422
        paths = {f["path"] for f in response.json()["fields"]}
        assert {"channel", "subjects.0.nhs_number"} <= paths

    async def test_a_concern_names_a_child_on_the_contact(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        concern = {"category": "neglect", "description": "Hungry.", "subject_index": 1}
        response = await client.post(
            "/v1/contacts", json=phone_contact(concerns=[concern]), headers=worker
        )
        assert response.status_code == 422
        assert response.json()["fields"] == [
            {
                "path": "concerns.0.subject_index",
                "reason": "names a subject that is not in subjects",
            }
        ]
        concern["subject_index"] = 0
        voiced = phone_contact(concerns=[concern])
        voiced["subjects"][0]["child_voice"] = "Sam said he is hungry."
        contact = await create(client, worker, voiced)
        assert contact["child_voice_present"] is True

    async def test_dv_notification_without_details_is_refused(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        body = dv_notification()
        del body["dv"]
        assert (await client.post("/v1/contacts", json=body, headers=worker)).status_code == 422

    async def test_referrers_may_not_use_the_front_door_api(
        self, client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        headers = auth("referrer", agency_id="bradford-school")
        assert (
            await client.post("/v1/contacts", json=phone_contact(), headers=headers)
        ).status_code == 403


class TestQueue:
    async def test_ordered_by_priority_then_nearest_deadline(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        now = datetime.now(UTC)
        later = await create(
            client, worker, phone_contact(received_at=(now - timedelta(minutes=5)).isoformat())
        )
        sooner = await create(
            client, worker, phone_contact(received_at=(now - timedelta(hours=5)).isoformat())
        )
        urgent = await create(client, worker, phone_contact(immediate_risk=True))
        items = (await client.get("/v1/queue", headers=worker)).json()["items"]
        ids = [i["id"] for i in items]
        assert ids.index(urgent["id"]) < ids.index(sooner["id"]) < ids.index(later["id"])
        assert items[0]["safety_floor"] is True

    async def test_dv_screener_sees_only_the_dv_lane(
        self, client: httpx.AsyncClient, worker: Headers, screener: Headers
    ) -> None:
        dv = await create(client, worker, dv_notification())
        other = await create(client, worker, phone_contact())
        items = (await client.get("/v1/queue", headers=screener)).json()["items"]
        assert {i["lane"] for i in items} == {"dv_screening"}
        assert dv["id"] in {i["id"] for i in items}
        assert (
            await client.get(f"/v1/contacts/{other['id']}", headers=screener)
        ).status_code == 404

    async def test_filters_and_cursor_pagination(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        for _ in range(5):
            await create(client, worker, phone_contact())
        seen: list[str] = []
        cursor = None
        for _ in range(10):
            params: dict[str, Any] = {"limit": 2, "lane": "mash"}
            if cursor:
                params["cursor"] = cursor
            page = (await client.get("/v1/queue", params=params, headers=worker)).json()
            seen += [i["id"] for i in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert len(seen) == len(set(seen)) >= 5
        none = await client.get("/v1/queue", params={"lane": "lado"}, headers=worker)
        assert none.json()["items"] == []
        breached = await client.get("/v1/queue", params={"breached": "true"}, headers=worker)
        assert breached.json()["items"] == []

    async def test_bad_cursor_is_422(self, client: httpx.AsyncClient, worker: Headers) -> None:
        response = await client.get("/v1/queue", params={"cursor": "nonsense"}, headers=worker)
        assert response.status_code == 422
        assert response.json()["fields"][0]["path"] == "cursor"


class TestReadContact:
    async def test_whole_contact_with_proposal_reasons(
        self, client: httpx.AsyncClient, worker: Headers, seeded: AsyncSession
    ) -> None:
        contact = await intake(seeded, referral_event(make_marf()))
        body = (await client.get(f"/v1/contacts/{contact.id}", headers=worker)).json()
        assert body["proposal"]["fired"][0]["matched"] == {"concern_categories": ["neglect"]}
        assert body["record"]["marf"]["subjects"][0]["given_name"] == "Sam"
        assert {c["kind"] for c in body["clocks"]} >= {"decision", "completed_24h"}

    async def test_unknown_and_foreign_contacts_are_404(
        self, client: httpx.AsyncClient, worker: Headers, auth: TokenFactory
    ) -> None:
        contact = await create(client, worker, phone_contact())
        assert (await client.get(f"/v1/contacts/{uuid.uuid4()}", headers=worker)).status_code == 404
        # A worker of another council (the token's council claim) cannot see it.
        settings = get_settings().model_copy(update={"council_id": "elsewhere"})
        other = {
            "Authorization": f"Bearer {mint_token(settings, sub='x', role=Role.front_door_worker)}"
        }
        assert (await client.get(f"/v1/contacts/{contact['id']}", headers=other)).status_code == 404


class TestLease:
    async def test_two_workers_cannot_hold_the_same_contact(
        self, client: httpx.AsyncClient, worker: Headers, worker2: Headers
    ) -> None:
        contact_id = await claimed(client, worker)
        response = await client.post(f"/v1/contacts/{contact_id}/claim", headers=worker2)
        assert response.status_code == 409
        assert (
            await client.post(f"/v1/contacts/{contact_id}/release", headers=worker2)
        ).status_code == 409
        assert (
            await client.post(f"/v1/contacts/{contact_id}/release", headers=worker)
        ).status_code == 200
        assert (
            await client.post(f"/v1/contacts/{contact_id}/claim", headers=worker2)
        ).status_code == 200

    async def test_claim_allocates_and_meets_the_unallocated_clock(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact_id = await claimed(client, worker)
        body = (await client.get(f"/v1/contacts/{contact_id}", headers=worker)).json()
        assert body["assigned_to"] == "worker-1"
        assert next(c for c in body["clocks"] if c["kind"] == "unallocated")["state"] == "met"

    async def test_only_managers_assign(
        self, client: httpx.AsyncClient, worker: Headers, manager: Headers
    ) -> None:
        contact = await create(client, worker, phone_contact())
        url = f"/v1/contacts/{contact['id']}/assign"
        assert (
            await client.post(url, json={"assignee": "worker-2"}, headers=worker)
        ).status_code == 403
        response = await client.post(url, json={"assignee": "worker-2"}, headers=manager)
        assert response.json()["assigned_to"] == "worker-2"


class TestDecision:
    async def test_decision_needs_the_lease(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact = await create(client, worker, phone_contact())
        response = await client.post(
            f"/v1/contacts/{contact['id']}/decision", json=decision(), headers=worker
        )
        assert response.status_code == 409

    async def test_incomplete_decisions_list_every_problem(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact_id = await claimed(client, worker)
        body = decision(outcome="nfa", primary_need_code=None, level=7)
        response = await client.post(
            f"/v1/contacts/{contact_id}/decision", json=body, headers=worker
        )
        assert response.status_code == 422
        assert {f["path"] for f in response.json()["fields"]} == {"nfa_reason", "level"}
        body = decision(primary_need_code=None, rationale="")
        response = await client.post(
            f"/v1/contacts/{contact_id}/decision", json=body, headers=worker
        )
        assert {f["path"] for f in response.json()["fields"]} == {"rationale"}

    async def test_primary_need_code_is_required_unless_nfa(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact_id = await claimed(client, worker)
        response = await client.post(
            f"/v1/contacts/{contact_id}/decision",
            json=decision(primary_need_code=None, consent_state="given"),
            headers=worker,
        )
        assert [f["path"] for f in response.json()["fields"]] == ["primary_need_code"]

    async def test_consent_needed_at_levels_2_and_3(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact_id = await claimed(client, worker)  # a phone contact: no consent recorded
        url = f"/v1/contacts/{contact_id}/decision"
        refused = await client.post(url, json=decision(level=3), headers=worker)
        assert [f["path"] for f in refused.json()["fields"]] == ["outcome"]
        given = decision(level=3, consent_state="given")
        assert (await client.post(url, json=given, headers=worker)).status_code == 201

    async def test_decision_without_sign_off_counts_at_once(
        self, client: httpx.AsyncClient, worker: Headers, seeded: AsyncSession
    ) -> None:
        contact_id = await claimed(client, worker)
        body = decision(
            consent_state="given", next_steps="An early help worker will call within a week."
        )
        response = await client.post(
            f"/v1/contacts/{contact_id}/decision", json=body, headers=worker
        )
        assert response.json()["status"] == "final"
        contact = (await client.get(f"/v1/contacts/{contact_id}", headers=worker)).json()
        assert (contact["status"], contact["outcome"]) == ("decided", "early_help")
        states = {c["kind"]: c["state"] for c in contact["clocks"]}
        assert states["decision"] == states["completed_24h"] == "met"
        assert states["feedback"] == "running"
        (decided,) = await outbox(seeded, "contact.decided")
        assert decided["next_steps"] == "An early help worker will call within a week."
        assert decided["outcome_summary"] == "The family will be offered early help."
        assert decided["council_id"] == "demo"  # the seeded council


class TestSignOff:
    async def _awaiting(self, client: httpx.AsyncClient, worker: Headers, **overrides: Any) -> str:
        contact_id = await claimed(client, worker)
        body = decision(outcome="s17_assessment", level=3, consent_state="given", **overrides)
        response = await client.post(
            f"/v1/contacts/{contact_id}/decision", json=body, headers=worker
        )
        assert response.json()["status"] == "pending_sign_off"
        return contact_id

    async def test_approval_makes_the_decision_and_starts_the_assessment_clock(
        self, client: httpx.AsyncClient, worker: Headers, manager: Headers, seeded: AsyncSession
    ) -> None:
        contact_id = await self._awaiting(client, worker)
        assert await outbox(seeded, "contact.decided") == []
        response = await client.post(
            f"/v1/contacts/{contact_id}/sign-off", json={"action": "approve"}, headers=manager
        )
        assert response.json()["signed_off_by"] == "manager-1"
        contact = (await client.get(f"/v1/contacts/{contact_id}", headers=manager)).json()
        assert contact["status"] == "decided"
        assessment = next(c for c in contact["clocks"] if c["kind"] == "assessment")
        assert assessment["started_at"] == contact["received_at"]
        assert len(await outbox(seeded, "contact.decided")) == 1

    async def test_returned_decision_reopens_the_contact(
        self, client: httpx.AsyncClient, worker: Headers, manager: Headers
    ) -> None:
        contact_id = await self._awaiting(client, worker)
        url = f"/v1/contacts/{contact_id}/sign-off"
        assert (
            await client.post(url, json={"action": "return"}, headers=manager)
        ).status_code == 422
        response = await client.post(
            url, json={"action": "return", "note": "Speak to the school first."}, headers=manager
        )
        assert response.json()["status"] == "returned"
        contact = (await client.get(f"/v1/contacts/{contact_id}", headers=worker)).json()
        assert contact["status"] == "open"

    async def test_only_team_managers_sign_off(
        self, client: httpx.AsyncClient, worker: Headers, worker2: Headers
    ) -> None:
        contact_id = await self._awaiting(client, worker)
        response = await client.post(
            f"/v1/contacts/{contact_id}/sign-off", json={"action": "approve"}, headers=worker2
        )
        assert response.status_code == 403

    async def test_strategy_discussion_starts_the_icpc_clock(
        self, client: httpx.AsyncClient, worker: Headers, manager: Headers
    ) -> None:
        contact_id = await claimed(client, worker)
        body = decision(outcome="strategy_discussion", level=4, **WITHOUT_CONSENT_AT_4)
        response = await client.post(
            f"/v1/contacts/{contact_id}/decision", json=body, headers=worker
        )
        assert response.status_code == 201, response.text
        await client.post(
            f"/v1/contacts/{contact_id}/sign-off", json={"action": "approve"}, headers=manager
        )
        contact = (await client.get(f"/v1/contacts/{contact_id}", headers=manager)).json()
        assert "icpc" in {c["kind"] for c in contact["clocks"]}
        assert contact["decisions"][0]["strategy_discussion"] is True


class TestRecordedClocks:
    """The assessment (s17) and ICPC clocks are met by recording the event, with its time."""

    async def _decided(
        self, client: httpx.AsyncClient, worker: Headers, manager: Headers, outcome: str
    ) -> str:
        received = (datetime.now(UTC) - timedelta(days=2)).isoformat()
        contact_id = await claimed(client, worker, phone_contact(received_at=received))
        level = 4 if outcome == "strategy_discussion" else 3
        body = decision(outcome=outcome, level=level, consent_state="given")
        if level == 4:
            body["level_reason"] = "Police checks show a risk of significant harm."
        response = await client.post(
            f"/v1/contacts/{contact_id}/decision", json=body, headers=worker
        )
        assert response.status_code == 201, response.text
        response = await client.post(
            f"/v1/contacts/{contact_id}/sign-off", json={"action": "approve"}, headers=manager
        )
        assert response.status_code == 200, response.text
        return contact_id

    async def test_assessment_authorised_meets_its_clock_and_shows_in_the_contact(
        self, client: httpx.AsyncClient, worker: Headers, manager: Headers, seeded: AsyncSession
    ) -> None:
        contact_id = await self._decided(client, worker, manager, "s17_assessment")
        authorised = datetime.now(UTC) - timedelta(minutes=10)
        response = await client.post(
            f"/v1/contacts/{contact_id}/clocks/assessment/met",
            json={"met_at": authorised.isoformat()},
            headers=worker,
        )
        assert response.status_code == 200, response.text
        assert (response.json()["state"], response.json()["met_on_time"]) == ("met", True)
        contact = (await client.get(f"/v1/contacts/{contact_id}", headers=manager)).json()
        clock = next(c for c in contact["clocks"] if c["kind"] == "assessment")
        assert clock["state"] == "met"
        assert datetime.fromisoformat(clock["met_at"]) == authorised
        assert (clock["met_on_time"], clock["met_recorded_by"]) == (True, "worker-1")
        actions = await seeded.scalars(
            select(AuditEntry.action).where(AuditEntry.entity_id == contact_id)
        )
        assert "clock.met.assessment" in set(actions.all())

    async def test_icpc_held_late_keeps_its_breach(
        self, client: httpx.AsyncClient, worker: Headers, manager: Headers, seeded: AsyncSession
    ) -> None:
        contact_id = await self._decided(client, worker, manager, "strategy_discussion")
        await seeded.execute(
            update(TriageClock)
            .where(TriageClock.contact_id == uuid.UUID(contact_id), TriageClock.kind == "icpc")
            .values(deadline_at=datetime.now(UTC) - timedelta(hours=1))
        )
        await scan_clocks(seeded, now=datetime.now(UTC), limit=100)
        response = await client.post(
            f"/v1/contacts/{contact_id}/clocks/icpc/met", json={}, headers=manager
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["state"], body["met_on_time"]) == ("breached", False)
        assert body["met_at"] is not None
        again = await client.post(
            f"/v1/contacts/{contact_id}/clocks/icpc/met", json={}, headers=manager
        )
        assert again.status_code == 409

    async def test_a_paused_assessment_clock_can_be_met(
        self, client: httpx.AsyncClient, worker: Headers, manager: Headers
    ) -> None:
        contact_id = await self._decided(client, worker, manager, "s17_assessment")
        url = f"/v1/contacts/{contact_id}/clocks/assessment"
        paused = await client.post(
            f"{url}/pause", json={"reason": "Family abroad."}, headers=manager
        )
        assert paused.status_code == 200
        response = await client.post(f"{url}/met", json={}, headers=manager)
        assert response.json()["state"] == "met"

    async def test_bad_requests_are_refused(
        self, client: httpx.AsyncClient, worker: Headers, manager: Headers, screener: Headers
    ) -> None:
        contact_id = await self._decided(client, worker, manager, "s17_assessment")
        url = f"/v1/contacts/{contact_id}/clocks"
        future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        early = "2020-01-01T00:00:00Z"
        naive = "2026-11-20T10:00:00"
        for body in ({"met_at": future}, {"met_at": early}, {"met_at": naive}):
            response = await client.post(f"{url}/assessment/met", json=body, headers=worker)
            assert response.status_code == 422, body
            assert response.json()["fields"][0]["path"].endswith("met_at")
        # Only clocks met by recording an event; a clock the contact does not have is 404.
        decision_clock = await client.post(f"{url}/decision/met", json={}, headers=worker)
        assert decision_clock.status_code == 422
        assert (await client.post(f"{url}/icpc/met", json={}, headers=worker)).status_code == 404
        forbidden = await client.post(f"{url}/assessment/met", json={}, headers=screener)
        assert forbidden.status_code == 403
        other = await client.post(
            f"/v1/contacts/{uuid.uuid4()}/clocks/assessment/met", json={}, headers=worker
        )
        assert other.status_code == 404


class TestFeedback:
    async def test_feedback_is_emitted_and_meets_its_clock(
        self, client: httpx.AsyncClient, worker: Headers, seeded: AsyncSession
    ) -> None:
        contact_id = await claimed(client, worker)
        url = f"/v1/contacts/{contact_id}"
        feedback = {
            "feedback": "Thank you; we will offer early help.",
            "next_steps": "Early help worker to call.",
        }
        assert (
            await client.post(f"{url}/feedback", json=feedback, headers=worker)
        ).status_code == 409
        await client.post(f"{url}/decision", json=decision(consent_state="given"), headers=worker)
        body = (await client.post(f"{url}/feedback", json=feedback, headers=worker)).json()
        assert body["feedback_given_at"] is not None
        assert next(c for c in body["clocks"] if c["kind"] == "feedback")["state"] == "met"
        (event,) = await outbox(seeded, "contact.feedback_given")
        assert event["next_steps"] == "Early help worker to call."


async def set_council(session: AsyncSession, **settings: Any) -> None:
    row = await session.get(CouncilCalendar, "demo")
    assert row is not None
    row.settings = {**(row.settings or {}), **settings}
    await session.flush()


def view(route_to: str, **overrides: Any) -> dict[str, Any]:
    return {"route_to": route_to, "rationale": f"My view: {route_to}.", **overrides}


class TestDvScreening:
    async def test_joint_screening_routes_when_both_agree_and_requests_encompass_once(
        self, client: httpx.AsyncClient, worker: Headers, screener: Headers, seeded: AsyncSession
    ) -> None:
        contact = await create(client, worker, dv_notification())
        url = f"/v1/contacts/{contact['id']}/screening"
        first = view("early_help", encompass=True)
        assert (await client.post(url, json=first, headers=screener)).status_code == 201
        waiting = (await client.get(f"/v1/contacts/{contact['id']}", headers=worker)).json()
        # One view is not a screening: the police view alone does not move the contact.
        assert (waiting["lane"], waiting["screening_state"]) == ("dv_screening", "awaiting_joint")
        second = view("early_help", encompass=True)
        assert (await client.post(url, json=second, headers=worker)).status_code == 201
        (event,) = await outbox(seeded, "dv.encompass_requested")
        assert event["children"][0]["school_urn"] == "107301"
        assert event["force_id"] == "west-yorkshire-police"
        body = (await client.get(f"/v1/contacts/{contact['id']}", headers=worker)).json()
        assert (body["lane"], body["screening_state"]) == ("early_help", "routed")
        assert {s["screener_role"] for s in body["screenings"]} == {
            "dv_screener",
            "front_door_worker",
        }

    async def test_a_notification_that_also_reports_cse_goes_to_the_mash(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        concerns = [
            {"category": "domestic_abuse", "description": "Police attended a DA incident."},
            {"category": "cse", "description": "Officers found messages from an older man."},
        ]
        contact = await create(client, worker, dv_notification(concerns=concerns))
        assert (contact["lane"], contact["level"], contact["rag"]) == ("mash", 4, "red")
        assert [f["category"] for f in contact["proposal"]["concern_floors"]] == ["cse"]

    async def test_the_social_worker_may_screen_first(
        self, client: httpx.AsyncClient, worker: Headers, screener: Headers
    ) -> None:
        contact = await create(client, worker, dv_notification())
        url = f"/v1/contacts/{contact['id']}/screening"
        assert (await client.post(url, json=view("mash"), headers=worker)).status_code == 201
        assert (await client.post(url, json=view("mash"), headers=screener)).status_code == 201
        body = (await client.get(f"/v1/contacts/{contact['id']}", headers=worker)).json()
        assert (body["lane"], body["screening_state"]) == ("mash", "routed")

    async def test_each_side_records_one_view(
        self, client: httpx.AsyncClient, worker: Headers, worker2: Headers
    ) -> None:
        contact = await create(client, worker, dv_notification())
        url = f"/v1/contacts/{contact['id']}/screening"
        assert (await client.post(url, json=view("advice"), headers=worker)).status_code == 201
        again = await client.post(url, json=view("advice"), headers=worker2)
        assert again.status_code == 409
        assert "social work view is already recorded" in again.json()["detail"]

    async def test_a_disagreement_is_recorded_and_a_team_manager_resolves_it(
        self,
        client: httpx.AsyncClient,
        worker: Headers,
        screener: Headers,
        manager: Headers,
        seeded: AsyncSession,
    ) -> None:
        contact = await create(client, worker, dv_notification())
        url = f"/v1/contacts/{contact['id']}/screening"
        resolve = f"{url}/resolution"
        decide = {"route_to": "mash", "rationale": "Third incident this year: MASH."}
        assert (await client.post(resolve, json=decide, headers=manager)).status_code == 409
        assert (await client.post(url, json=view("mash"), headers=screener)).status_code == 201
        assert (await client.post(url, json=view("advice"), headers=worker)).status_code == 201
        body = (await client.get(f"/v1/contacts/{contact['id']}", headers=manager)).json()
        assert (body["lane"], body["screening_state"]) == ("dv_screening", "disagreed")
        # Nobody's further view settles it; only a team manager's resolution does.
        assert (await client.post(url, json=view("mash"), headers=worker)).status_code == 409
        assert (await client.post(resolve, json=decide, headers=worker)).status_code == 403
        resolved = await client.post(resolve, json=decide, headers=manager)
        assert resolved.status_code == 201, resolved.text
        assert (resolved.json()["kind"], resolved.json()["screened_by"]) == (
            "resolution",
            "manager-1",
        )
        body = (await client.get(f"/v1/contacts/{contact['id']}", headers=manager)).json()
        assert (body["lane"], body["screening_state"]) == ("mash", "routed")
        assert [(s["kind"], s["route_to"]) for s in body["screenings"]] == [
            ("view", "mash"),
            ("view", "advice"),
            ("resolution", "mash"),
        ]
        actions = set(
            (
                await seeded.scalars(
                    select(AuditEntry.action).where(AuditEntry.entity_id == contact["id"])
                )
            ).all()
        )
        assert {"contact.screening.disagreed", "contact.screening.resolved"} <= actions
        assert (await client.post(resolve, json=decide, headers=manager)).status_code == 409

    async def test_a_council_may_allow_single_screening_for_standard_risk(
        self, client: httpx.AsyncClient, worker: Headers, screener: Headers, seeded: AsyncSession
    ) -> None:
        await set_council(seeded, dv_single_screening_standard_risk=True)
        standard = await create(client, worker, dv_notification("standard"))
        url = f"/v1/contacts/{standard['id']}/screening"
        assert (await client.post(url, json=view("advice"), headers=screener)).status_code == 201
        body = (await client.get(f"/v1/contacts/{standard['id']}", headers=worker)).json()
        assert (body["lane"], body["screening_state"]) == ("advice", "routed")
        # Medium risk is still screened jointly.
        medium = await create(client, worker, dv_notification("medium"))
        url = f"/v1/contacts/{medium['id']}/screening"
        assert (await client.post(url, json=view("advice"), headers=screener)).status_code == 201
        body = (await client.get(f"/v1/contacts/{medium['id']}", headers=worker)).json()
        assert (body["lane"], body["screening_state"]) == ("dv_screening", "awaiting_joint")

    async def test_joint_screening_is_the_default_for_standard_risk(
        self, client: httpx.AsyncClient, worker: Headers, screener: Headers
    ) -> None:
        contact = await create(client, worker, dv_notification("standard"))
        url = f"/v1/contacts/{contact['id']}/screening"
        assert (await client.post(url, json=view("advice"), headers=screener)).status_code == 201
        body = (await client.get(f"/v1/contacts/{contact['id']}", headers=worker)).json()
        assert body["lane"] == "dv_screening"

    async def test_only_the_dv_lane_is_screened(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact = await create(client, worker, phone_contact())
        body = {"route_to": "mash", "rationale": "x"}
        assert (
            await client.post(f"/v1/contacts/{contact['id']}/screening", json=body, headers=worker)
        ).status_code == 409


class TestClockPause:
    async def test_pause_and_resume_moves_the_deadline(
        self, client: httpx.AsyncClient, worker: Headers, manager: Headers
    ) -> None:
        contact = await create(client, worker, phone_contact())
        url = f"/v1/contacts/{contact['id']}/clocks/all_contacts_48h"
        paused = (
            await client.post(
                f"{url}/pause", json={"reason": "Awaiting police checks."}, headers=manager
            )
        ).json()
        assert (paused["state"], paused["paused_reason"]) == ("paused", "Awaiting police checks.")
        assert (
            await client.post(f"{url}/pause", json={"reason": "again"}, headers=manager)
        ).status_code == 409
        resumed = (await client.post(f"{url}/resume", headers=manager)).json()
        assert resumed["state"] == "running"
        assert resumed["deadline_at"] >= paused["deadline_at"]
        assert (
            await client.post(f"{url}/pause", json={"reason": "x"}, headers=worker)
        ).status_code == 403
        missing = await client.post(
            f"/v1/contacts/{contact['id']}/clocks/nope/resume", headers=manager
        )
        assert missing.status_code == 404


class TestDvScreenerRecording:
    async def test_screener_records_a_high_risk_notification_it_will_not_work(
        self, client: httpx.AsyncClient, screener: Headers
    ) -> None:
        response = await client.post("/v1/contacts", json=dv_notification("high"), headers=screener)
        assert response.status_code == 201
        assert response.json()["lane"] == "mash"
        queue = (await client.get("/v1/queue", headers=screener)).json()["items"]
        assert response.json()["id"] not in {i["id"] for i in queue}

    async def test_screener_records_only_dv_notifications(
        self, client: httpx.AsyncClient, screener: Headers
    ) -> None:
        response = await client.post("/v1/contacts", json=phone_contact(), headers=screener)
        assert response.status_code == 403


class TestLeaseExpiry:
    async def test_an_expired_lease_can_be_taken(
        self, client: httpx.AsyncClient, worker: Headers, worker2: Headers, seeded: AsyncSession
    ) -> None:
        contact_id = await claimed(client, worker)
        await seeded.execute(
            update(TriageContact)
            .where(TriageContact.id == uuid.UUID(contact_id))
            .values(lease_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        response = await client.post(f"/v1/contacts/{contact_id}/claim", headers=worker2)
        assert response.json()["lease_holder"] == "worker-2"
        late = await client.post(
            f"/v1/contacts/{contact_id}/decision", json=decision(), headers=worker
        )
        assert late.status_code == 409


class TestBreachesInTheQueue:
    async def test_managers_see_which_clocks_are_breached(
        self, client: httpx.AsyncClient, worker: Headers, manager: Headers, seeded: AsyncSession
    ) -> None:
        old = datetime.now(UTC) - timedelta(days=3)
        late = await create(client, worker, phone_contact(received_at=old.isoformat()))
        fresh = await create(client, worker, phone_contact())
        await scan_clocks(seeded, now=datetime.now(UTC), limit=100)
        page = await client.get("/v1/queue", params={"breached": "true"}, headers=manager)
        items = page.json()["items"]
        assert [i["id"] for i in items] == [late["id"]]
        assert {"written_follow_up", "completed_24h", "all_contacts_48h"} <= set(
            items[0]["breached_clocks"]
        )
        body = (await client.get(f"/v1/contacts/{fresh['id']}", headers=manager)).json()
        assert body["breached_clocks"] == []
        assert (await outbox(seeded, "contact.written_follow_up_overdue"))[0]["contact_id"] == late[
            "id"
        ]
