"""Operation Encompass intake: batches, single incidents, idempotency, EHE routing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.notifications import Delivery, EheTask, Notification
from services.models.platform import OutboxEvent
from tests.notifications.conftest import create_school, incident

Auth = Callable[..., dict[str, str]]
ClientFor = Callable[[FastAPI], httpx.AsyncClient]
FORCE = "west-yorkshire-police"


async def count(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


class TestBatch:
    async def test_bad_items_are_rejected_with_reasons_and_the_rest_accepted(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, session: AsyncSession
    ) -> None:
        await create_school(session, urn="107301")
        future = datetime.now(UTC) + timedelta(days=2)
        items = [
            incident("WY-1"),
            {"police_reference": "WY-2", "children": []},
            incident("WY-3", at=future),
        ]
        async with client_for(app) as client:
            response = await client.post(
                "/v1/encompass/batches",
                json={"incidents": items},
                headers=auth("police_feed", agency_id=FORCE),
            )
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["accepted"], body["rejected"], body["duplicates"]) == (1, 2, 0)
        bad = body["items"][1]
        assert bad["status"] == "rejected"
        assert {e["path"] for e in bad["errors"]} == {"incident_at", "children"}
        assert body["items"][2]["errors"][0]["path"] == "incident_at"
        assert await count(session, Notification) == 1

    async def test_resubmitting_the_same_incident_and_child_creates_nothing_new(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, session: AsyncSession
    ) -> None:
        await create_school(session, urn="107301")
        headers = auth("police_feed", agency_id=FORCE)
        async with client_for(app) as client:
            first = await client.post(
                "/v1/encompass/batches", json={"incidents": [incident()]}, headers=headers
            )
            deliveries = await count(session, Delivery)
            events = await count(session, OutboxEvent)
            again = await client.post(
                "/v1/encompass/batches", json={"incidents": [incident()]}, headers=headers
            )
        assert first.json()["accepted"] == 1
        item = again.json()["items"][0]
        assert item["status"] == "duplicate"
        assert item["children"][0]["status"] == "duplicate"
        assert (
            item["children"][0]["notification_id"]
            == (first.json()["items"][0]["children"][0]["notification_id"])
        )
        assert await count(session, Notification) == 1
        assert (await count(session, Delivery), await count(session, OutboxEvent)) == (
            deliveries,
            events,
        )

    async def test_a_new_sibling_on_a_known_incident_is_added(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, session: AsyncSession
    ) -> None:
        await create_school(session, urn="107301")
        headers = auth("police_feed", agency_id=FORCE)
        sibling = {"given_name": "Sami", "family_name": "Testchild", "school_urn": "107301"}
        original = incident()
        both = incident(children=[*original["children"], sibling])
        async with client_for(app) as client:
            await client.post("/v1/encompass/incidents", json=original, headers=headers)
            response = await client.post("/v1/encompass/incidents", json=both, headers=headers)
        statuses = [c["status"] for c in response.json()["children"]]
        assert response.json()["status"] == "accepted"
        assert statuses == ["duplicate", "created"]

    async def test_only_the_police_feed_may_submit(
        self, app: FastAPI, client_for: ClientFor, auth: Auth
    ) -> None:
        async with client_for(app) as client:
            response = await client.post(
                "/v1/encompass/incidents",
                json=incident(),
                headers=auth("school_dsl", school_urn="107301"),
            )
        assert response.status_code == 403


class TestRouting:
    async def test_deadline_is_the_next_school_day_start_at_that_school(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, session: AsyncSession
    ) -> None:
        from datetime import time

        await create_school(session, urn="107301", school_day_start=time(8, 45))
        async with client_for(app) as client:
            response = await client.post(
                "/v1/encompass/incidents",
                json=incident(),  # Friday 20 Nov 2026 22:30 UTC
                headers=auth("police_feed", agency_id=FORCE),
            )
        nid = response.json()["children"][0]["notification_id"]
        notification = await session.get_one(Notification, nid)
        assert notification.deadline_at == datetime(2026, 11, 23, 8, 45, tzinfo=UTC)
        assert notification.in_holiday is False
        channels = await session.scalars(
            select(Delivery.channel).where(Delivery.notification_id == notification.id)
        )
        assert sorted(channels.all()) == ["email"]  # no endpoint registered: email

    async def test_ehe_and_unknown_schools_go_to_the_ehe_contact_with_a_task(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, session: AsyncSession
    ) -> None:
        children = [
            {"given_name": "A", "family_name": "One", "education_status": "ehe"},
            {"given_name": "B", "family_name": "Two"},
            {"given_name": "C", "family_name": "Three", "school_urn": "999999"},
        ]
        async with client_for(app) as client:
            response = await client.post(
                "/v1/encompass/incidents",
                json=incident("WY-EHE", children=children),
                headers=auth("police_feed", agency_id=FORCE),
            )
        reasons = [c["ehe_reason"] for c in response.json()["children"]]
        assert reasons == ["ehe", "no_school", "unknown_school"]
        assert await count(session, EheTask) == 3
        emails = (await session.scalars(select(Delivery).where(Delivery.kind == "ehe"))).all()
        assert len(emails) == 3
        assert all(e.recipients == ["ehe.officer@council.example"] for e in emails)
        assert all("One" not in e.body and "Two" not in e.body for e in emails)
        topics = (
            await session.scalars(
                select(OutboxEvent.topic).where(OutboxEvent.topic == "encompass.ehe_task_raised")
            )
        ).all()
        assert len(topics) == 3
