"""The queue page through the API: every filter, cursor paging under filters, sibling groups,
items identical to the contact's own read, and one audit row per read."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.platform import AuditEntry
from services.models.triage import TriageContact
from tests.factories import make_marf
from tests.triage.conftest import dv_notification, intake, phone_contact, referral_event
from tests.triage.test_contacts_api import Headers, create
from triage.queue.schemas import QueueItem


async def queue(client: httpx.AsyncClient, headers: Headers, **params: Any) -> dict[str, Any]:
    response = await client.get("/v1/queue", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def ids(client: httpx.AsyncClient, headers: Headers, **params: Any) -> list[str]:
    return [i["id"] for i in (await queue(client, headers, limit=200, **params))["items"]]


async def set_fields(session: AsyncSession, contact_id: str, **values: Any) -> None:
    await session.execute(
        update(TriageContact).where(TriageContact.id == uuid.UUID(contact_id)).values(**values)
    )


class TestQueuePage:
    async def test_items_are_the_contacts_own_read(
        self, client: httpx.AsyncClient, manager: Headers, worker: Headers, seeded: AsyncSession
    ) -> None:
        marf = make_marf()
        sibling = {**marf["subjects"][0], "given_name": "Alex", "nhs_number": None}
        await intake(seeded, referral_event(make_marf(subjects=[marf["subjects"][0], sibling])))
        await create(client, worker, phone_contact())
        await create(client, worker, dv_notification())
        breached = await create(client, worker, phone_contact())
        await set_fields(seeded, breached["id"], breached=True, assigned_to="worker-2")
        held = await create(client, worker, phone_contact())
        assert (await client.post(f"/v1/contacts/{held['id']}/claim", headers=worker)).is_success
        items = (await queue(client, manager))["items"]
        assert len(items) == 5
        for item in items:
            read = (await client.get(f"/v1/contacts/{item['id']}", headers=manager)).json()
            assert item == {field: read[field] for field in QueueItem.model_fields}

    async def test_a_sibling_group_is_one_item(
        self, client: httpx.AsyncClient, worker: Headers, seeded: AsyncSession
    ) -> None:
        marf = make_marf()
        sibling = {**marf["subjects"][0], "given_name": "Alex", "nhs_number": None}
        contact = await intake(
            seeded, referral_event(make_marf(subjects=[marf["subjects"][0], sibling]))
        )
        items = (await queue(client, worker))["items"]
        assert [i["id"] for i in items] == [str(contact.id)]
        assert [(s["position"], s["name"]) for s in items[0]["subjects"]] == [
            (0, "Sam Example"),
            (1, "Alex Example"),
        ]

    async def test_each_filter_and_their_combinations(
        self, client: httpx.AsyncClient, worker: Headers, seeded: AsyncSession
    ) -> None:
        a, b, c, d = [(await create(client, worker, phone_contact()))["id"] for _ in range(4)]
        soon = datetime.now(UTC) + timedelta(minutes=30)
        await set_fields(seeded, a, level=3, assigned_to="worker-2")
        await set_fields(seeded, b, level=3, status="awaiting_sign_off")
        await set_fields(seeded, c, level=1, breached=True, queue_deadline_at=soon)
        await set_fields(seeded, d, lane="early_help", level=2)
        everyone = {a, b, c, d}
        assert set(await ids(client, worker)) == everyone
        assert set(await ids(client, worker, level=3)) == {a, b}
        # The same filters again with other values: a statement is reused, never its values.
        assert set(await ids(client, worker, level=2)) == {d}
        assert set(await ids(client, worker, status="awaiting_sign_off")) == {b}
        assert set(await ids(client, worker, status="open")) == {a, c, d}
        assert set(await ids(client, worker, assigned_to="worker-2")) == {a}
        assert set(await ids(client, worker, assigned_to="worker-3")) == set()
        before = (soon + timedelta(minutes=1)).isoformat()
        assert set(await ids(client, worker, due_before=before)) == {c}
        assert set(await ids(client, worker, breached=True)) == {c}
        assert set(await ids(client, worker, breached=False)) == {a, b, d}
        assert set(await ids(client, worker, lane="early_help")) == {d}
        assert set(await ids(client, worker, lane="mash", level=3, status="open")) == {a}
        assert set(await ids(client, worker, lane="mash", breached=False, level=3)) == {a, b}

    async def test_a_lane_outside_the_callers_lanes_is_empty(
        self, client: httpx.AsyncClient, worker: Headers, screener: Headers
    ) -> None:
        await create(client, worker, phone_contact())
        dv = await create(client, worker, dv_notification())
        assert await ids(client, screener, lane="mash") == []
        assert await ids(client, screener, lane="dv_screening") == [dv["id"]]
        assert await ids(client, screener) == [dv["id"]]

    async def test_cursor_pages_follow_the_whole_order_under_filters(
        self, client: httpx.AsyncClient, worker: Headers, seeded: AsyncSession
    ) -> None:
        created = [(await create(client, worker, phone_contact()))["id"] for _ in range(5)]
        created.append((await create(client, worker, phone_contact(immediate_risk=True)))["id"])
        # Out of office hours immediate risk goes to the out-of-hours lane: the filters below
        # are about paging, so every contact is put in one lane whatever the time of day.
        await set_fields(seeded, created[-1], lane="mash")
        same = datetime.now(UTC) + timedelta(hours=3)
        for contact_id in created[:3]:  # ties on (priority, deadline): the id decides
            await set_fields(seeded, contact_id, priority=1, queue_deadline_at=same)
        for params in ({}, {"lane": "mash"}, {"status": "open", "breached": False}):
            whole = await ids(client, worker, **params)
            assert set(whole) == set(created)
            paged: list[str] = []
            cursor = None
            while True:
                page = await queue(
                    client, worker, limit=2, **params, **({"cursor": cursor} if cursor else {})
                )
                paged += [i["id"] for i in page["items"]]
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            assert paged == whole

    async def test_the_last_page_has_no_cursor(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        for _ in range(2):
            await create(client, worker, phone_contact())
        assert (await queue(client, worker, limit=2))["next_cursor"] is None
        first = await queue(client, worker, limit=1)
        assert first["next_cursor"] is not None
        last = await queue(client, worker, limit=1, cursor=first["next_cursor"])
        assert len(last["items"]) == 1
        assert last["next_cursor"] is None

    async def test_every_read_writes_an_audit_row(
        self, client: httpx.AsyncClient, worker: Headers, seeded: AsyncSession
    ) -> None:
        await create(client, worker, phone_contact())
        await queue(client, worker)
        await queue(client, worker, lane="lado")  # an empty page is a read too
        rows = (
            await seeded.execute(
                select(AuditEntry).where(
                    AuditEntry.action == "queue.read", AuditEntry.entity_type == "queue"
                )
            )
        ).scalars()
        assert [(r.service, r.actor_sub, r.actor_role, r.entity_id) for r in rows] == [
            ("triage", "worker-1", "front_door_worker", "demo"),
        ] * 2
