"""The child's record across contacts: matching, confirm/split, flags as history, the
flagged child's next contact, restriction to named people, and search."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.mash import MashChildAccess
from services.models.platform import AuditEntry
from tests.conftest import TokenFactory
from tests.factories import make_marf
from tests.triage.mash_support import Headers, audit_actions, new_contact

SAM = make_marf()["subjects"][0]


def child(**fields: Any) -> list[dict[str, Any]]:
    subject = {**SAM, **fields}
    return [{k: v for k, v in subject.items() if v is not None}]


async def links(client: httpx.AsyncClient, headers: Headers, contact_id: str) -> list[Any]:
    response = await client.get(f"/v1/contacts/{contact_id}/children", headers=headers)
    assert response.status_code == 200, response.text
    result: list[Any] = response.json()
    return result


async def flag(
    client: httpx.AsyncClient, headers: Headers, child_id: str, **body: Any
) -> httpx.Response:
    body.setdefault("reason", "Police intelligence")
    return await client.post(f"/v1/children/{child_id}/flags", json=body, headers=headers)


class TestMatching:
    async def test_a_second_contact_with_the_same_nhs_number_is_the_same_child(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        first = await new_contact(client, worker)
        second = await new_contact(client, worker)
        one, two = (
            (await links(client, worker, first["id"]))[0],
            (await links(client, worker, second["id"]))[0],
        )
        assert (one["state"], two["state"]) == ("new", "matched")
        assert two["child_id"] == one["child_id"]
        assert "nhs_number" in two["matched_on"]
        record = (await client.get(f"/v1/children/{one['child_id']}", headers=worker)).json()
        assert {c["contact_id"] for c in record["contacts"]} == {first["id"], second["id"]}

    async def test_name_and_dob_match_ignoring_accents_and_apostrophes(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        first = await new_contact(
            client,
            worker,
            subjects=child(nhs_number=None, given_name="Zoë", family_name="O'Hist"),
        )
        second = await new_contact(
            client,
            worker,
            subjects=child(nhs_number=None, given_name="ZOE", family_name="OHist"),
        )
        one = (await links(client, worker, first["id"]))[0]
        two = (await links(client, worker, second["id"]))[0]
        assert two["child_id"] == one["child_id"]
        assert two["matched_on"] == ["name_dob_postcode"]

    async def test_a_different_child_is_a_new_record(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        first = await new_contact(client, worker)
        other = await new_contact(
            client, worker, subjects=child(nhs_number=None, given_name="Alex")
        )
        one = (await links(client, worker, first["id"]))[0]
        two = (await links(client, worker, other["id"]))[0]
        assert (two["state"], two["child_id"] != one["child_id"]) == ("new", True)


class TestConfirmAndSplit:
    async def test_confirm_once_then_split_off_a_wrong_match(
        self, client: httpx.AsyncClient, worker: Headers, session: AsyncSession
    ) -> None:
        first = await new_contact(client, worker)
        second = await new_contact(client, worker)
        original = (await links(client, worker, first["id"]))[0]
        match = (await links(client, worker, second["id"]))[0]
        confirmed = await client.post(f"/v1/child-links/{match['id']}/confirm", headers=worker)
        assert (confirmed.json()["state"], confirmed.json()["decided_by"]) == (
            "confirmed",
            "worker-1",
        )
        again = await client.post(f"/v1/child-links/{match['id']}/confirm", headers=worker)
        assert again.status_code == 409
        split = await client.post(f"/v1/child-links/{match['id']}/split", headers=worker)
        assert split.status_code == 200
        assert split.json()["child_id"] != original["child_id"]
        record = (await client.get(f"/v1/children/{original['child_id']}", headers=worker)).json()
        assert [c["contact_id"] for c in record["contacts"]] == [first["id"]]
        assert "child.match_split" in await audit_actions(session, second["id"])

    async def test_a_new_record_has_nothing_to_split_or_confirm(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact = await new_contact(client, worker)
        link = (await links(client, worker, contact["id"]))[0]
        for action in ("split", "confirm"):
            response = await client.post(f"/v1/child-links/{link['id']}/{action}", headers=worker)
            assert response.status_code == 409


class TestFlags:
    async def test_each_change_is_kept_with_the_value_it_replaced(
        self, client: httpx.AsyncClient, worker: Headers, manager: Headers
    ) -> None:
        contact = await new_contact(client, worker)
        child_id = (await links(client, worker, contact["id"]))[0]["child_id"]
        made = await flag(client, worker, child_id, flag="cse", active=True, risk_level="medium")
        assert (made.status_code, made.json()["previous"]) == (201, None)
        raised = await flag(
            client, manager, child_id, flag="cse", active=True, risk_level="high", reason="New"
        )
        assert raised.json()["previous"] == {
            "active": True,
            "risk_level": "medium",
            "placing_authority": None,
        }
        record = (await client.get(f"/v1/children/{child_id}", headers=worker)).json()
        assert record["active_flags"] == ["cse"]
        assert [(f["risk_level"], f["set_by"]) for f in record["flag_history"]] == [
            ("medium", "worker-1"),
            ("high", "manager-1"),
        ]
        assert [f["risk_level"] for f in record["flags"]] == ["high"]
        removed = await flag(client, worker, child_id, flag="cse", active=False, reason="Ended")
        assert removed.status_code == 201
        record = (await client.get(f"/v1/children/{child_id}", headers=worker)).json()
        assert (record["active_flags"], record["flags"]) == ([], [])
        assert len(record["flag_history"]) == 3

    async def test_the_same_value_again_is_a_conflict(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact = await new_contact(client, worker)
        child_id = (await links(client, worker, contact["id"]))[0]["child_id"]
        await flag(client, worker, child_id, flag="missing", active=True, risk_level="high")
        again = await flag(client, worker, child_id, flag="missing", active=True, risk_level="high")
        assert again.status_code == 409
        never_set = await flag(client, worker, child_id, flag="cce", active=False)
        assert never_set.status_code == 409

    @pytest.mark.parametrize(
        ("body", "path"),
        [
            ({"flag": "placed_by_other_la", "active": True}, "placing_authority"),
            ({"flag": "cse", "active": True, "placing_authority": "Leeds"}, "placing_authority"),
            ({"flag": "cse", "active": False, "risk_level": "high"}, "risk_level"),
            ({"flag": "pregnant", "active": True}, "flag"),
            ({"flag": "cse", "active": True, "risk_level": "extreme"}, "risk_level"),
        ],
    )
    async def test_bad_flag_changes_are_422_with_the_field(
        self, client: httpx.AsyncClient, worker: Headers, body: dict[str, Any], path: str
    ) -> None:
        contact = await new_contact(client, worker)
        child_id = (await links(client, worker, contact["id"]))[0]["child_id"]
        response = await flag(client, worker, child_id, **body)
        assert response.status_code == 422
        assert path in {f["path"] for f in response.json()["fields"]}

    async def test_placed_by_another_authority_names_it(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact = await new_contact(client, worker)
        child_id = (await links(client, worker, contact["id"]))[0]["child_id"]
        response = await flag(
            client,
            worker,
            child_id,
            flag="placed_by_other_la",
            active=True,
            placing_authority="Leeds",
        )
        assert response.json()["placing_authority"] == "Leeds"


class TestFlaggedChildsNextContact:
    async def test_the_queue_says_so_and_the_rules_raise_the_proposal(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        first = await new_contact(client, worker)
        child_id = (await links(client, worker, first["id"]))[0]["child_id"]
        before = await new_contact(client, worker)
        await flag(client, worker, child_id, flag="cse", active=True, risk_level="high")
        after = await new_contact(client, worker)
        assert before["level"] != 4
        assert (after["level"], after["lane"], after["rag"]) == (4, "mash", "red")
        fired = {r["rule_id"] for r in after["proposal"]["fired"]}
        assert "exploitation-or-missing" in fired
        queue = (await client.get("/v1/queue", headers=worker)).json()["items"]
        item = next(i for i in queue if i["id"] == after["id"])
        assert item["child_flags"] == ["cse"]


class TestRestriction:
    async def test_only_named_people_see_a_restricted_child(
        self,
        client: httpx.AsyncClient,
        worker: Headers,
        worker2: Headers,
        manager: Headers,
        session: AsyncSession,
    ) -> None:
        contact = await new_contact(client, worker)
        child_id = (await links(client, worker, contact["id"]))[0]["child_id"]
        restricted = await client.put(
            f"/v1/children/{child_id}/restriction",
            json={"restricted": True, "named": ["worker-1"]},
            headers=manager,
        )
        assert restricted.status_code == 200, restricted.text
        assert (await client.get(f"/v1/children/{child_id}", headers=worker)).status_code == 200
        hidden = await client.get(f"/v1/children/{child_id}", headers=worker2)
        missing = await client.get(
            "/v1/children/00000000-0000-0000-0000-000000000000", headers=worker2
        )
        assert hidden.status_code == missing.status_code == 404
        assert hidden.json() == missing.json()
        found = await client.get(
            "/v1/children/search", params={"nhs_number": "9990001006"}, headers=worker2
        )
        assert found.json() == []
        assert (await audit_actions(session, child_id)).count("child.refused") == 2
        allowed = await client.get(
            "/v1/children/search", params={"nhs_number": "9990001006"}, headers=worker
        )
        assert [c["id"] for c in allowed.json()] == [child_id]

    async def test_lifting_removes_the_named_and_restricting_again_names_only_the_new_list(
        self,
        client: httpx.AsyncClient,
        worker: Headers,
        worker2: Headers,
        manager: Headers,
        session: AsyncSession,
    ) -> None:
        contact = await new_contact(client, worker)
        child_id = (await links(client, worker, contact["id"]))[0]["child_id"]
        url = f"/v1/children/{child_id}/restriction"

        async def put(restricted: bool, named: list[str]) -> None:
            response = await client.put(
                url, json={"restricted": restricted, "named": named}, headers=manager
            )
            assert response.status_code == 200, response.text

        await put(True, ["worker-1"])
        await put(False, [])
        access = await session.scalars(
            select(MashChildAccess.sub).where(MashChildAccess.child_id == child_id)
        )
        assert access.all() == []
        actions = await audit_actions(session, child_id)
        assert actions.count("child.access_removed") == 2  # worker-1 and the manager
        await put(True, ["worker-2"])
        assert (await client.get(f"/v1/children/{child_id}", headers=worker)).status_code == 404
        assert (await client.get(f"/v1/children/{child_id}", headers=worker2)).status_code == 200
        # Restricting again with a different list drops whoever is no longer on it.
        await put(True, ["worker-1"])
        assert (await client.get(f"/v1/children/{child_id}", headers=worker2)).status_code == 404
        assert (await client.get(f"/v1/children/{child_id}", headers=worker)).status_code == 200

    async def test_only_managers_restrict(self, client: httpx.AsyncClient, worker: Headers) -> None:
        contact = await new_contact(client, worker)
        child_id = (await links(client, worker, contact["id"]))[0]["child_id"]
        response = await client.put(
            f"/v1/children/{child_id}/restriction", json={"restricted": True}, headers=worker
        )
        assert response.status_code == 403


class TestSearch:
    @pytest.mark.parametrize(
        "params",
        [
            {"name": "Zoe OHist"},
            {"name": "ZOË O'HIST"},
            {"name": "zoe o'hist"},
            {"name": "O'Hist"},
            {"name": "Zo O'Hist"},  # the start of the given name
            {"nhs_number": "999 000 1006"},
            {"postcode": "bd1 1hy", "name": "ohist"},
        ],
    )
    async def test_finds_the_child(
        self, client: httpx.AsyncClient, worker: Headers, params: dict[str, str]
    ) -> None:
        contact = await new_contact(
            client, worker, subjects=child(given_name="Zoë", family_name="O'Hist")
        )
        child_id = (await links(client, worker, contact["id"]))[0]["child_id"]
        response = await client.get("/v1/children/search", params=params, headers=worker)
        assert response.status_code == 200, response.text
        hits = response.json()
        assert [h["id"] for h in hits] == [child_id]
        assert hits[0]["contacts"][0]["reference"] == contact["reference"]

    @pytest.mark.parametrize(
        ("given", "family", "typed"),
        [
            ("Łukasz", "Nowak", "Lukasz Nowak"),
            ("Łukasz", "Nowak", "łukasz nowak"),
            ("Jürgen", "Groß", "Jurgen Gross"),
            ("Øyvind", "Dæhlie", "Oyvind Daehlie"),
            ("Đorđe", "Þórsson", "Dorde Thorsson"),
            ("Anna", "Van der Berg", "Anna Van der Berg"),
            ("Anna", "Van der Berg", "van der berg"),
            ("Anna", "Van der Berg", "Vanderberg"),
            ("Anna", "Van der Berg", "Van der Berg Anna"),
            ("Zoë", "O'Hist", "Zoë O Hist"),
            ("Mary Jane", "Smith-Jones", "Mary Jane Smith Jones"),
        ],
    )
    async def test_finds_realistic_names(
        self, client: httpx.AsyncClient, worker: Headers, given: str, family: str, typed: str
    ) -> None:
        contact = await new_contact(
            client, worker, subjects=child(given_name=given, family_name=family)
        )
        child_id = (await links(client, worker, contact["id"]))[0]["child_id"]
        response = await client.get("/v1/children/search", params={"name": typed}, headers=worker)
        assert response.status_code == 200, response.text
        assert [h["id"] for h in response.json()] == [child_id]

    async def test_a_name_in_a_script_without_latin_letters_is_a_clear_422(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        for typed in ("Мария", "Мария Smith"):
            response = await client.get(
                "/v1/children/search", params={"name": typed}, headers=worker
            )
            assert response.status_code == 422
            field = response.json()["fields"][0]
            assert field["path"] == "name"
            assert "Latin" in field["reason"]

    async def test_by_date_of_birth(self, client: httpx.AsyncClient, worker: Headers) -> None:
        contact = await new_contact(client, worker)
        child_id = (await links(client, worker, contact["id"]))[0]["child_id"]
        response = await client.get(
            "/v1/children/search", params={"date_of_birth": SAM["date_of_birth"]}, headers=worker
        )
        assert child_id in {h["id"] for h in response.json()}

    async def test_other_criteria_narrow_the_result(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        await new_contact(client, worker, subjects=child(given_name="Zoë", family_name="O'Hist"))
        response = await client.get(
            "/v1/children/search",
            params={"name": "Zoe OHist", "postcode": "LS1 1AA"},
            headers=worker,
        )
        assert response.json() == []

    @pytest.mark.parametrize(
        ("params", "path"),
        [
            ({}, "name"),
            ({"name": "'''"}, "name"),
            ({"nhs_number": "1234567890"}, "nhs_number"),
            ({"upn": "X"}, "upn"),
            ({"postcode": "NOPE"}, "postcode"),
            ({"date_of_birth": "not-a-date"}, "query.date_of_birth"),
        ],
    )
    async def test_bad_searches_are_422_with_the_field(
        self, client: httpx.AsyncClient, worker: Headers, params: dict[str, str], path: str
    ) -> None:
        response = await client.get("/v1/children/search", params=params, headers=worker)
        assert response.status_code == 422
        assert path in {f["path"] for f in response.json()["fields"]}

    async def test_searches_are_audited_without_the_values(
        self, client: httpx.AsyncClient, worker: Headers, session: AsyncSession
    ) -> None:
        await new_contact(client, worker)
        await client.get("/v1/children/search", params={"name": "Sam Example"}, headers=worker)
        row = await session.scalar(
            select(AuditEntry)
            .where(AuditEntry.action == "child.search")
            .order_by(AuditEntry.id.desc())
        )
        assert row is not None
        assert row.reason == "name"
        hits = (
            await client.get("/v1/children/search", params={"name": "Sam"}, headers=worker)
        ).json()
        await client.get(f"/v1/children/{hits[0]['id']}", headers=worker)  # a result opened
        assert "child.read" in await audit_actions(session, hits[0]["id"])

    async def test_partners_and_referrers_cannot_search(
        self, client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        for role in ("mash_partner", "referrer"):
            headers = auth(role, agency_id="police")
            response = await client.get(
                "/v1/children/search", params={"name": "x"}, headers=headers
            )
            assert response.status_code == 403


class TestRestrictedContacts:
    async def test_the_mash_work_on_a_restricted_child_s_contact_is_not_found(
        self,
        client: httpx.AsyncClient,
        worker: Headers,
        worker2: Headers,
        manager: Headers,
        session: AsyncSession,
    ) -> None:
        contact = await new_contact(client, worker)
        child_id = (await links(client, worker, contact["id"]))[0]["child_id"]
        await client.put(
            f"/v1/children/{child_id}/restriction",
            json={"restricted": True, "named": ["worker-1"]},
            headers=manager,
        )
        url = f"/v1/contacts/{contact['id']}/chronology"
        assert (await client.get(url, headers=worker)).status_code == 200
        hidden = await client.get(url, headers=worker2)
        assert (hidden.status_code, hidden.json()["error"]) == (404, "ContactNotFound")
        assert "contact.refused" in await audit_actions(session, contact["id"])


class TestRestrictedContactsInTheTriageEndpoints:
    """The older contact endpoints and the queue apply the same restriction as the MASH's own."""

    async def _restricted(
        self, client: httpx.AsyncClient, worker: Headers, manager: Headers
    ) -> dict[str, Any]:
        contact = await new_contact(client, worker)
        child_id = (await links(client, worker, contact["id"]))[0]["child_id"]
        response = await client.put(
            f"/v1/children/{child_id}/restriction",
            json={"restricted": True, "named": ["worker-1"]},
            headers=manager,
        )
        assert response.status_code == 200, response.text
        return contact

    async def test_the_contact_is_not_found_to_an_unnamed_worker_and_the_refusal_audited(
        self,
        client: httpx.AsyncClient,
        worker: Headers,
        worker2: Headers,
        manager: Headers,
        session: AsyncSession,
    ) -> None:
        contact = await self._restricted(client, worker, manager)
        url = f"/v1/contacts/{contact['id']}"
        reads = (await audit_actions(session, contact["id"])).count("contact.read")
        hidden = await client.get(url, headers=worker2)
        missing = await client.get(
            "/v1/contacts/00000000-0000-0000-0000-000000000000", headers=worker2
        )
        assert (hidden.status_code, hidden.json()) == (404, missing.json())
        assert "access.refused" in await audit_actions(session, contact["id"])
        assert (await audit_actions(session, contact["id"])).count("contact.read") == reads
        assert (await client.get(url, headers=worker)).status_code == 200

    async def test_an_action_on_the_contact_is_not_found_to_an_unnamed_worker(
        self,
        client: httpx.AsyncClient,
        worker: Headers,
        worker2: Headers,
        manager: Headers,
        session: AsyncSession,
    ) -> None:
        contact = await self._restricted(client, worker, manager)
        claim = f"/v1/contacts/{contact['id']}/claim"
        refused = await client.post(claim, headers=worker2)
        assert (refused.status_code, refused.json()["error"]) == (404, "ContactNotFound")
        actions = await audit_actions(session, contact["id"])
        assert "access.refused" in actions
        assert "contact.claimed" not in actions
        named = await client.post(claim, headers=worker)
        assert named.status_code == 200, named.text
        assert named.json()["lease_holder"] == "worker-1"

    async def test_the_queue_leaves_the_contact_out_for_an_unnamed_worker(
        self,
        client: httpx.AsyncClient,
        worker: Headers,
        worker2: Headers,
        manager: Headers,
    ) -> None:
        contact = await self._restricted(client, worker, manager)
        other = await new_contact(
            client, worker, subjects=child(nhs_number=None, given_name="Alex")
        )

        async def queue_ids(headers: Headers) -> set[str]:
            response = await client.get("/v1/queue", headers=headers)
            assert response.status_code == 200, response.text
            return {item["id"] for item in response.json()["items"]}

        unnamed = await queue_ids(worker2)
        assert contact["id"] not in unnamed
        assert other["id"] in unnamed
        assert {contact["id"], other["id"]} <= await queue_ids(worker)
