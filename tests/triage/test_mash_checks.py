"""Partner checks: requested by the MASH, answered by each agency, overdue shown, audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.calendar import WorkingCalendar
from services.models.mash import MashPartnerCheck
from tests.conftest import TokenFactory
from tests.triage.mash_support import Headers, audit_actions, new_contact, rate


@pytest.fixture
def police(auth: TokenFactory) -> Headers:
    return auth("mash_partner", sub="pc-1", agency_id="police")


@pytest.fixture
def health(auth: TokenFactory) -> Headers:
    return auth("mash_partner", sub="nurse-1", agency_id="health")


@pytest.fixture
def education(auth: TokenFactory) -> Headers:
    return auth("mash_partner", sub="edu-1", agency_id="education")


async def requested(
    client: httpx.AsyncClient, worker: Headers, agencies: list[str], rag: str = "amber"
) -> tuple[str, dict[str, dict[str, Any]]]:
    contact = await new_contact(client, worker)
    await rate(client, worker, contact["id"], rag)
    response = await client.post(
        f"/v1/contacts/{contact['id']}/checks", json={"agencies": agencies}, headers=worker
    )
    assert response.status_code == 201, response.text
    return contact["id"], {c["agency_id"]: c for c in response.json()}


ANSWER = {
    "outcome": "answered",
    "known": True,
    "summary": "Two DA call-outs this year.",
    "risk_indicators": ["domestic_abuse", "weapons"],
    "latest_involvement_on": "2026-10-02",
    "researched_by": "DC Example",
}


class TestRequest:
    async def test_each_check_is_due_by_the_rag(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        _, checks = await requested(client, worker, ["police", "health"])
        police = checks["police"]
        asked = datetime.fromisoformat(police["requested_at"])
        due = WorkingCalendar().add_working_hours(asked, 12)  # amber: 12 working hours
        assert datetime.fromisoformat(police["due_at"]) == due
        assert (police["status"], police["overdue"], police["agency_name"]) == (
            "requested",
            False,
            "Police",
        )

    async def test_a_red_contact_s_checks_are_due_in_two_elapsed_hours(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        _, checks = await requested(client, worker, ["police"], rag="red")
        check = checks["police"]
        gap = datetime.fromisoformat(check["due_at"]) - datetime.fromisoformat(
            check["requested_at"]
        )
        assert gap == timedelta(hours=2)

    async def test_an_agency_not_listed_by_the_council_is_422_and_nothing_is_written(
        self, client: httpx.AsyncClient, worker: Headers, session: AsyncSession
    ) -> None:
        contact = await new_contact(client, worker)
        response = await client.post(
            f"/v1/contacts/{contact['id']}/checks",
            json={"agencies": ["police", "mi5", "police"]},
            headers=worker,
        )
        assert response.status_code == 422
        assert [f["path"] for f in response.json()["fields"]] == ["agencies.1", "agencies.2"]
        count = await session.scalar(
            select(func.count()).where(MashPartnerCheck.contact_id == contact["id"])
        )
        assert count == 0

    async def test_asking_the_same_agency_twice_is_a_conflict(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact_id, _ = await requested(client, worker, ["police"])
        again = await client.post(
            f"/v1/contacts/{contact_id}/checks",
            json={"agencies": ["health", "police"]},
            headers=worker,
        )
        assert again.status_code == 409
        listed = await client.get(f"/v1/contacts/{contact_id}/checks", headers=worker)
        assert [c["agency_id"] for c in listed.json()] == ["police"]  # health not half-written

    async def test_an_empty_list_is_422(self, client: httpx.AsyncClient, worker: Headers) -> None:
        contact = await new_contact(client, worker)
        response = await client.post(
            f"/v1/contacts/{contact['id']}/checks", json={"agencies": []}, headers=worker
        )
        assert response.status_code == 422
        assert response.json()["fields"][0]["path"] == "agencies"


class TestPartnerAnswers:
    async def test_the_partner_sees_its_own_agency_s_requests_only(
        self, client: httpx.AsyncClient, worker: Headers, police: Headers, health: Headers
    ) -> None:
        await requested(client, worker, ["police"])
        assert len((await client.get("/v1/checks", headers=police)).json()) == 1
        assert (await client.get("/v1/checks", headers=health)).json() == []

    async def test_answered_with_what_the_agency_holds(
        self, client: httpx.AsyncClient, worker: Headers, police: Headers
    ) -> None:
        _, checks = await requested(client, worker, ["police"])
        url = f"/v1/checks/{checks['police']['id']}/response"
        response = await client.post(url, json=ANSWER, headers=police)
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["status"], body["known"], body["researched_by"]) == (
            "answered",
            True,
            "DC Example",
        )
        assert body["risk_indicators"] == ["domestic_abuse", "weapons"]
        assert body["latest_involvement_on"] == "2026-10-02"
        assert body["responded_by"] == "pc-1"
        again = await client.post(url, json=ANSWER, headers=police)
        assert again.status_code == 409

    async def test_nothing_held_and_declined(
        self, client: httpx.AsyncClient, worker: Headers, police: Headers, health: Headers
    ) -> None:
        _, checks = await requested(client, worker, ["police", "health"])
        held = await client.post(
            f"/v1/checks/{checks['police']['id']}/response",
            json={"outcome": "nothing_held", "researched_by": "DC Example"},
            headers=police,
        )
        assert (held.json()["status"], held.json()["known"]) == ("nothing_held", False)
        declined = await client.post(
            f"/v1/checks/{checks['health']['id']}/response",
            json={"outcome": "declined", "declined_reason": "Not proportionate to share"},
            headers=health,
        )
        assert declined.json()["declined_reason"] == "Not proportionate to share"

    @pytest.mark.parametrize(
        ("body", "path"),
        [
            ({**ANSWER, "summary": ""}, "summary"),
            ({k: v for k, v in ANSWER.items() if k != "known"}, "known"),
            ({k: v for k, v in ANSWER.items() if k != "researched_by"}, "researched_by"),
            ({"outcome": "declined"}, "declined_reason"),
            ({"outcome": "nothing_held"}, "researched_by"),
            ({"outcome": "nothing_held", "researched_by": "x", "known": True}, "known"),
            ({"outcome": "maybe"}, "outcome"),
        ],
    )
    async def test_an_incomplete_answer_is_422_with_the_field(
        self,
        client: httpx.AsyncClient,
        worker: Headers,
        police: Headers,
        body: dict[str, Any],
        path: str,
    ) -> None:
        _, checks = await requested(client, worker, ["police"])
        response = await client.post(
            f"/v1/checks/{checks['police']['id']}/response", json=body, headers=police
        )
        assert response.status_code == 422
        assert path in {f["path"] for f in response.json()["fields"]}

    async def test_another_agency_s_check_is_not_found_and_the_attempt_audited(
        self,
        client: httpx.AsyncClient,
        worker: Headers,
        health: Headers,
        session: AsyncSession,
    ) -> None:
        _, checks = await requested(client, worker, ["police"])
        check_id = checks["police"]["id"]
        assert (await client.get(f"/v1/checks/{check_id}", headers=health)).status_code == 404
        answer = await client.post(f"/v1/checks/{check_id}/response", json=ANSWER, headers=health)
        assert answer.status_code == 404
        assert (await audit_actions(session, check_id)).count("partner_check.refused") == 2

    async def test_staff_cannot_answer_for_a_partner(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        _, checks = await requested(client, worker, ["police"])
        url = f"/v1/checks/{checks['police']['id']}/response"
        assert (await client.post(url, json=ANSWER, headers=worker)).status_code == 403


class TestVisibility:
    async def test_partners_on_the_contact_see_each_other_s_answers(
        self,
        client: httpx.AsyncClient,
        worker: Headers,
        police: Headers,
        health: Headers,
        education: Headers,
    ) -> None:
        contact_id, checks = await requested(client, worker, ["police", "health"])
        await client.post(
            f"/v1/checks/{checks['police']['id']}/response", json=ANSWER, headers=police
        )
        seen = await client.get(f"/v1/contacts/{contact_id}/checks", headers=health)
        assert seen.status_code == 200
        assert {c["agency_id"]: c["summary"] for c in seen.json()}["police"] == ANSWER["summary"]
        # A partner with no check on the contact is told nothing exists.
        other = await client.get(f"/v1/contacts/{contact_id}/checks", headers=education)
        assert other.status_code == 404
        assert other.json()["error"] == "ContactNotFound"  # as for a contact that does not exist

    async def test_the_referrer_never_sees_checks(
        self, client: httpx.AsyncClient, worker: Headers, auth: TokenFactory
    ) -> None:
        contact_id, checks = await requested(client, worker, ["police"])
        referrer = auth("referrer", agency_id="police")
        assert (
            await client.get(f"/v1/contacts/{contact_id}/checks", headers=referrer)
        ).status_code == 403
        assert (
            await client.get(f"/v1/checks/{checks['police']['id']}", headers=referrer)
        ).status_code == 403

    async def test_reads_and_writes_are_audited(
        self,
        client: httpx.AsyncClient,
        worker: Headers,
        police: Headers,
        session: AsyncSession,
    ) -> None:
        contact_id, checks = await requested(client, worker, ["police"])
        check_id = checks["police"]["id"]
        await client.get(f"/v1/checks/{check_id}", headers=police)
        await client.post(f"/v1/checks/{check_id}/response", json=ANSWER, headers=police)
        await client.get(f"/v1/contacts/{contact_id}/checks", headers=worker)
        assert await audit_actions(session, check_id) == [
            "check.request",
            "check.read",
            "check.answered",
        ]
        assert "check.read_contact" in await audit_actions(session, contact_id)


class TestOverdue:
    async def test_overdue_on_the_contact_in_the_queue_and_in_the_report(
        self,
        client: httpx.AsyncClient,
        worker: Headers,
        manager: Headers,
        police: Headers,
        session: AsyncSession,
    ) -> None:
        contact_id, checks = await requested(client, worker, ["police", "health"])
        past = datetime.now(UTC) - timedelta(minutes=1)
        await session.execute(
            update(MashPartnerCheck)
            .where(MashPartnerCheck.contact_id == contact_id)
            .values(due_at=past)
        )
        listed = (await client.get(f"/v1/contacts/{contact_id}/checks", headers=worker)).json()
        assert [c["overdue"] for c in listed] == [True, True]
        # Answered late: no longer overdue, but counted as late.
        await client.post(
            f"/v1/checks/{checks['police']['id']}/response", json=ANSWER, headers=police
        )
        queue = (await client.get("/v1/queue", headers=worker)).json()["items"]
        item = next(i for i in queue if i["id"] == contact_id)
        assert item["overdue_checks"] == 1
        report = (await client.get("/v1/reports/partner-checks", headers=manager)).json()
        by_agency = {a["agency_id"]: a for a in report["by_agency"]}
        assert by_agency["health"]["overdue"] == 1
        assert by_agency["police"]["answered_late"] == 1
        assert report["overdue"] == 1


class TestRestrictedChild:
    """A check on a restricted child's contact is "not found" to a partner not named on it."""

    async def test_the_partner_cannot_list_read_or_answer_it_and_each_attempt_is_audited(
        self,
        client: httpx.AsyncClient,
        worker: Headers,
        manager: Headers,
        police: Headers,
        session: AsyncSession,
    ) -> None:
        contact_id, checks = await requested(client, worker, ["police"])
        check_id = checks["police"]["id"]
        children = await client.get(f"/v1/contacts/{contact_id}/children", headers=worker)
        child_id = children.json()[0]["child_id"]
        listed = await client.get("/v1/checks", headers=police)
        assert check_id in [c["id"] for c in listed.json()]  # before: the partner sees it
        restricted = await client.put(
            f"/v1/children/{child_id}/restriction",
            json={"restricted": True, "named": ["worker-1"]},
            headers=manager,
        )
        assert restricted.status_code == 200, restricted.text

        listed = await client.get("/v1/checks", headers=police)
        assert listed.status_code == 200
        assert check_id not in [c["id"] for c in listed.json()]
        read = await client.get(f"/v1/checks/{check_id}", headers=police)
        missing = await client.get(
            "/v1/checks/00000000-0000-0000-0000-000000000000", headers=police
        )
        assert (read.status_code, read.json()) == (404, missing.json())
        answer = await client.post(f"/v1/checks/{check_id}/response", json=ANSWER, headers=police)
        assert answer.status_code == 404
        on_contact = await client.get(f"/v1/contacts/{contact_id}/checks", headers=police)
        assert on_contact.status_code == 404

        actions = await audit_actions(session, check_id)
        assert actions.count("partner_check.refused") == 3  # the list, the read, the answer
        assert "check.answered" not in actions
        row = await session.get(MashPartnerCheck, check_id)
        assert row is not None
        await session.refresh(row)
        assert row.status == "requested"
        # the named worker still sees it
        assert (await client.get(f"/v1/checks/{check_id}", headers=worker)).status_code == 200


class TestRagReview:
    async def test_open_checks_follow_the_new_rag_and_answered_ones_keep_their_due_time(
        self,
        client: httpx.AsyncClient,
        worker: Headers,
        health: Headers,
        session: AsyncSession,
    ) -> None:
        contact_id, checks = await requested(client, worker, ["police", "health"])
        answered = await client.post(
            f"/v1/checks/{checks['health']['id']}/response", json=ANSWER, headers=health
        )
        assert answered.status_code == 200, answered.text
        review = await rate(client, worker, contact_id, "red", reason="weapon mentioned")
        assert review.status_code == 201, review.text

        listed = await client.get(f"/v1/contacts/{contact_id}/checks", headers=worker)
        after = {c["agency_id"]: c for c in listed.json()}
        police = after["police"]
        gap = datetime.fromisoformat(police["due_at"]) - datetime.fromisoformat(
            police["requested_at"]
        )
        assert gap == timedelta(hours=2)  # red: 2 elapsed hours from the request
        assert after["health"]["due_at"] == checks["health"]["due_at"]
        actions = await audit_actions(session, police["id"])
        assert actions.count("check.due_moved") == 1
        assert "check.due_moved" not in await audit_actions(session, checks["health"]["id"])
