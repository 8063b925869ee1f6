"""The schools' side: listing, the audited detail, acknowledgement, welfare checks; operations."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.notifications import ForceSharing
from services.models.platform import AuditEntry, OutboxEvent
from tests.notifications.conftest import create_school, incident

Auth = Callable[..., dict[str, str]]
ClientFor = Callable[[FastAPI], httpx.AsyncClient]
FORCE = "west-yorkshire-police"


async def submit(client: httpx.AsyncClient, auth: Auth, reference: str, urn: str) -> str:
    child = {
        "given_name": "Amira",
        "family_name": "Testchild",
        "date_of_birth": "2017-03-04",
        "school_urn": urn,
        "present": True,
        "spoken_to": True,
        "child_voice": "I hid upstairs",
    }
    response = await client.post(
        "/v1/encompass/incidents",
        json=incident(reference, children=[child]),
        headers=auth("police_feed", agency_id=FORCE),
    )
    assert response.status_code == 200, response.text
    return str(response.json()["children"][0]["notification_id"])


class TestSchoolView:
    async def test_a_school_lists_only_its_own_and_foreign_detail_is_404(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, session: AsyncSession
    ) -> None:
        await create_school(session, urn="500001")
        await create_school(session, urn="500002")
        async with client_for(app) as client:
            mine = await submit(client, auth, "R-1", "500001")
            theirs = await submit(client, auth, "R-2", "500002")
            dsl = auth("school_dsl", school_urn="500001")
            listed = await client.get("/v1/notifications", headers=dsl)
            assert [n["id"] for n in listed.json()["items"]] == [mine]
            assert "Amira" not in listed.text
            assert (await client.get(f"/v1/notifications/{theirs}", headers=dsl)).status_code == 404
            ack = await client.post(f"/v1/notifications/{theirs}/acknowledge", headers=dsl)
            assert ack.status_code == 404

    async def test_the_list_pages_with_a_cursor_newest_first_each_once(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, session: AsyncSession
    ) -> None:
        await create_school(session, urn="500001")
        async with client_for(app) as client:
            made = [await submit(client, auth, f"P-{n}", "500001") for n in range(5)]
            dsl = auth("school_dsl", school_urn="500001")
            seen: list[str] = []
            pages: list[dict[str, Any]] = []
            params: dict[str, str | int] = {"limit": 2}
            while True:
                response = await client.get("/v1/notifications", params=params, headers=dsl)
                assert response.status_code == 200, response.text
                pages.append(response.json())
                seen += [n["id"] for n in pages[-1]["items"]]
                if pages[-1]["next_cursor"] is None:
                    break
                params = {"limit": 2, "cursor": pages[-1]["next_cursor"]}
            bad = await client.get("/v1/notifications", params={"cursor": "W10"}, headers=dsl)
        assert [len(p["items"]) for p in pages] == [2, 2, 1]
        assert {p["limit"] for p in pages} == {2}
        assert sorted(seen) == sorted(made)
        assert len(seen) == len(set(seen))
        created = [n["created_at"] for p in pages for n in p["items"]]
        assert created == sorted(created, reverse=True)
        assert bad.status_code == 422
        assert bad.json()["fields"] == [{"path": "cursor", "reason": "not a valid cursor"}]

    async def test_detail_follows_the_forces_sharing_config_and_is_audited(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, session: AsyncSession
    ) -> None:
        await create_school(session, urn="500003")
        session.add(
            ForceSharing(
                council_id="demo",
                force_id=FORCE,
                share_name=True,
                share_date_of_birth=False,
                share_present=True,
                share_spoken_to=False,
                share_child_voice=True,
                share_circumstances=False,
            )
        )
        async with client_for(app) as client:
            nid = await submit(client, auth, "R-3", "500003")
            dsl = auth("school_dsl", school_urn="500003", sub="dsl-500003")
            detail = (await client.get(f"/v1/notifications/{nid}", headers=dsl)).json()
        child = detail["child"]
        assert (child["given_name"], child["child_voice"]) == ("Amira", "I hid upstairs")
        assert child["date_of_birth"] is None
        assert child["spoken_to"] is None
        assert detail["circumstances"] is None
        assert "do not contact the child's parents" in detail["reminder"]
        audit = (
            await session.scalars(
                select(AuditEntry).where(
                    AuditEntry.action == "notification.read", AuditEntry.entity_id == nid
                )
            )
        ).one()
        assert (audit.actor_sub, audit.actor_org) == ("dsl-500003", "500003")

    async def test_acknowledge_is_idempotent_and_emits_once(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, session: AsyncSession
    ) -> None:
        await create_school(session, urn="500004")
        async with client_for(app) as client:
            nid = await submit(client, auth, "R-4", "500004")
            dsl = auth("school_dsl", school_urn="500004", sub="dsl-a")
            first = await client.post(f"/v1/notifications/{nid}/acknowledge", headers=dsl)
            second = await client.post(
                f"/v1/notifications/{nid}/acknowledge",
                headers=auth("school_dsl", school_urn="500004", sub="dsl-b"),
            )
        assert first.json()["status"] == "acknowledged"
        assert second.json()["acknowledged_at"] == first.json()["acknowledged_at"]
        events = await session.scalars(
            select(OutboxEvent).where(OutboxEvent.topic == "encompass.notification.acknowledged")
        )
        assert len(events.all()) == 1

    async def test_welfare_check_is_recorded_and_validated(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, session: AsyncSession
    ) -> None:
        await create_school(session, urn="500005")
        async with client_for(app) as client:
            nid = await submit(client, auth, "R-5", "500005")
            dsl = auth("school_dsl", school_urn="500005")
            too_early = await client.post(
                f"/v1/notifications/{nid}/welfare-check",
                json={"done_at": "2026-01-01T09:00:00Z", "done_by": "Ms Head", "outcome": "ok"},
                headers=dsl,
            )
            assert too_early.status_code == 422
            assert too_early.json()["fields"][0]["path"] == "done_at"
            done = await client.post(
                f"/v1/notifications/{nid}/welfare-check",
                json={
                    "done_at": datetime(2026, 11, 23, 9, 10, tzinfo=UTC).isoformat(),
                    "done_by": "Ms Head (DSL)",
                    "outcome": "Child seen in class; settled; will check in again Friday.",
                },
                headers=dsl,
            )
            assert done.status_code == 200, done.text
            assert done.json()["status"] == "welfare_checked"
            detail = (await client.get(f"/v1/notifications/{nid}", headers=dsl)).json()
        assert detail["welfare_check_by"] == "Ms Head (DSL)"
        assert detail["acknowledged_at"] is not None


class TestOperations:
    async def test_admin_sees_attempts_resends_and_the_unacknowledged_report(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, session: AsyncSession
    ) -> None:
        await create_school(session, urn="500006", name="Report School")
        admin = auth("admin")
        async with client_for(app) as client:
            nid = await submit(client, auth, "R-6", "500006")
            attempts = await client.get(f"/v1/notifications/{nid}/attempts", headers=admin)
            assert [d["channel"] for d in attempts.json()] == ["email"]
            resent = await client.post(f"/v1/notifications/{nid}/resend", headers=admin)
            assert resent.status_code == 200
            report = await client.get("/v1/encompass/reports/unacknowledged", headers=admin)
            row = next(r for r in report.json() if r["school_urn"] == "500006")
            assert (row["unacknowledged"], row["school_name"]) == (1, "Report School")
            dsl = auth("school_dsl", school_urn="500006")
            refused = await client.get(f"/v1/notifications/{nid}/attempts", headers=dsl)
            assert refused.status_code == 403

    async def test_sharing_config_is_data_the_admin_sets(
        self, app: FastAPI, client_for: ClientFor, auth: Auth
    ) -> None:
        admin = auth("admin")
        async with client_for(app) as client:
            default = await client.get("/v1/encompass/forces/other-force/sharing", headers=admin)
            assert default.json()["share_date_of_birth"] is False
            put = await client.put(
                "/v1/encompass/forces/other-force/sharing",
                json={"share_name": False, "share_present": True},
                headers=admin,
            )
            assert put.json()["share_name"] is False
