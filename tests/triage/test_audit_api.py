"""GET /v1/audit for the auditor role; refused reads on the trail; the queue page's contacts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.platform import AuditEntry
from tests.conftest import TokenFactory
from tests.factories import make_marf
from tests.triage.conftest import phone_contact
from tests.triage.test_contacts_api import Headers, create


@pytest.fixture
def auditor(auth: TokenFactory) -> Headers:
    return auth("auditor", sub="the-auditor")


async def trail(client: httpx.AsyncClient, headers: Headers, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/v1/audit", params=params, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


class TestTheAuditorsView:
    async def test_newest_first_with_who_did_what_to_which_record(
        self, client: httpx.AsyncClient, worker: Headers, auditor: Headers
    ) -> None:
        contact = await create(client, worker, phone_contact())
        await client.get(f"/v1/contacts/{contact['id']}", headers=worker)
        rows = await trail(client, auditor, entity_type="contact", entity_id=contact["id"])
        assert [r["action"] for r in rows][:2] == ["contact.read", "contact.read"]
        assert rows[0]["actor_sub"] == "worker-1"
        assert rows[0]["id"] > rows[1]["id"]
        assert "Sam" not in str(rows)

    async def test_only_the_auditor_may_read_it_and_a_refusal_is_on_the_trail(
        self, client: httpx.AsyncClient, auth: TokenFactory, auditor: Headers
    ) -> None:
        for role in ("front_door_worker", "team_manager", "admin", "dv_screener"):
            headers = (
                auth(role, agency_id="west-yorkshire-police")
                if role == "dv_screener"
                else (auth(role))
            )
            response = await client.get("/v1/audit", headers=headers)
            assert response.status_code == 403, role
        refused = await trail(client, auditor)
        refusals = [r for r in refused if r["action"] == "access.refused"]
        assert {r["actor_role"] for r in refusals} >= {"admin", "team_manager"}
        assert refusals[0]["reason"] == "403 GET /v1/audit"

    async def test_another_councils_auditor_sees_nothing(
        self, client: httpx.AsyncClient, worker: Headers, auth: TokenFactory
    ) -> None:
        await create(client, worker, phone_contact())
        foreign = auth("auditor", council_id="another-council")
        assert await trail(client, foreign) == []

    async def test_filters_by_actor_and_time(
        self, client: httpx.AsyncClient, worker: Headers, worker2: Headers, auditor: Headers
    ) -> None:
        mine = await create(client, worker, phone_contact())
        await client.get(f"/v1/contacts/{mine['id']}", headers=worker2)
        by_actor = await trail(client, auditor, actor_sub="worker-2")
        assert by_actor
        assert {r["actor_sub"] for r in by_actor} == {"worker-2"}
        future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        assert await trail(client, auditor, occurred_from=future) == []
        past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        assert await trail(client, auditor, occurred_from=past, occurred_to=future)

    async def test_by_child_follows_the_child_across_contacts(
        self, client: httpx.AsyncClient, worker: Headers, auditor: Headers
    ) -> None:
        first = await create(client, worker, phone_contact())
        again = await create(client, worker, phone_contact())  # the same child (NHS number)
        other_child = make_marf()["subjects"][0] | {"nhs_number": None, "given_name": "Lee"}
        unrelated = await create(client, worker, phone_contact(subjects=[other_child]))
        rows = await trail(client, auditor, child_contact_id=first["id"], limit=500)
        seen = {r["entity_id"] for r in rows}
        assert {first["id"], again["id"]} <= seen
        assert unrelated["id"] not in seen
        nobody = await trail(client, auditor, child_contact_id=str(uuid.uuid4()))
        assert nobody == []

    async def test_cursor_pages_reach_every_row_once(
        self, client: httpx.AsyncClient, worker: Headers, auditor: Headers
    ) -> None:
        contact = await create(client, worker, phone_contact())
        for _ in range(4):
            await client.get(f"/v1/contacts/{contact['id']}", headers=worker)
        everything = await trail(client, auditor, entity_id=contact["id"], limit=500)
        seen: list[int] = []
        cursor = None
        for _ in range(10):
            params: dict[str, Any] = {"entity_id": contact["id"], "limit": 2}
            if cursor:
                params["cursor"] = cursor
            body = (await client.get("/v1/audit", params=params, headers=auditor)).json()
            seen += [r["id"] for r in body["items"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert seen == [r["id"] for r in everything]
        assert len(seen) >= 5

    @pytest.mark.parametrize("cursor", ["nonsense!", "MA", "LTE", "x" * 40])
    async def test_a_bad_cursor_is_422(
        self, client: httpx.AsyncClient, auditor: Headers, cursor: str
    ) -> None:
        response = await client.get("/v1/audit", params={"cursor": cursor}, headers=auditor)
        assert response.status_code == 422
        assert response.json()["fields"][0]["path"] == "cursor"

    async def test_reading_the_trail_is_on_the_trail(
        self, client: httpx.AsyncClient, auditor: Headers, session: AsyncSession
    ) -> None:
        await trail(client, auditor)
        row = await session.scalar(select(AuditEntry).where(AuditEntry.action == "audit.read"))
        assert row is not None
        assert (row.actor_sub, row.actor_role) == ("the-auditor", "auditor")


class TestRefusedReadsAreAudited:
    async def test_a_404_for_a_contact_is_audited_with_the_id_tried(
        self, client: httpx.AsyncClient, worker: Headers, session: AsyncSession
    ) -> None:
        missing = str(uuid.uuid4())
        response = await client.get(f"/v1/contacts/{missing}", headers=worker)
        assert response.status_code == 404
        row = await session.scalar(select(AuditEntry).where(AuditEntry.action == "access.refused"))
        assert row is not None
        assert (row.entity_type, row.entity_id) == ("route", missing)
        assert row.reason == "404 GET /v1/contacts/{contact_id}"
        assert (row.actor_sub, row.council_id) == ("worker-1", "demo")

    async def test_an_anonymous_401_is_not_a_refused_read(
        self, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        assert (await client.get("/v1/queue")).status_code == 401
        found = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "access.refused")
        )
        assert found is None


class TestTheQueuePage:
    async def test_it_records_each_contact_it_showed(
        self, client: httpx.AsyncClient, worker: Headers, session: AsyncSession
    ) -> None:
        shown = [await create(client, worker, phone_contact()) for _ in range(3)]
        page = await client.get("/v1/queue", params={"limit": 2}, headers=worker)
        on_page = [i["id"] for i in page.json()["items"]]
        assert len(on_page) == 2
        rows = (
            await session.scalars(
                select(AuditEntry.entity_id).where(AuditEntry.action == "contact.listed")
            )
        ).all()
        assert sorted(rows) == sorted(on_page)
        assert set(on_page) <= {c["id"] for c in shown}
