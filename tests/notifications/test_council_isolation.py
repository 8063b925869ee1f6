"""Councils kept apart: a token of another council sees none of this council's schools,
endpoints, notifications, delivery attempts, reports or tasks (404, or an empty list).

Each foreign token has the same role, sub and school as the council's own, differing only in
`council_id`, so only the council scoping can refuse it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.settings import NotificationsSettings
from services.models.notifications import Notification
from tests.notifications.conftest import create_endpoint, create_school, incident

Auth = Callable[..., dict[str, str]]
ClientFor = Callable[[FastAPI], httpx.AsyncClient]
FORCE = "west-yorkshire-police"
URN = "610001"
OTHER = "another-council"


@pytest.fixture
async def world(
    app: FastAPI,
    client_for: ClientFor,
    auth: Auth,
    session: AsyncSession,
    nsettings: NotificationsSettings,
) -> dict[str, Any]:
    """A school of the demo council with an endpoint and one notification."""
    school = await create_school(session, urn=URN)
    endpoint = await create_endpoint(session, nsettings, school, "http://127.0.0.1:9/hook")
    async with client_for(app) as client:
        child = {"given_name": "Zed", "family_name": "Isolated", "school_urn": URN}
        response = await client.post(
            "/v1/encompass/incidents",
            json=incident("ISO-1", children=[child]),
            headers=auth("police_feed", agency_id=FORCE),
        )
        assert response.status_code == 200, response.text
    nid = response.json()["children"][0]["notification_id"]
    return {"endpoint": str(endpoint.id), "notification": nid}


def foreign_admin(auth: Auth) -> dict[str, str]:
    return auth("admin", sub="test-admin", council_id=OTHER)


def foreign_dsl(auth: Auth) -> dict[str, str]:
    return auth("school_dsl", school_urn=URN, sub="test-school_dsl", council_id=OTHER)


class TestDirectory:
    async def test_school_list_is_empty_for_another_councils_admin_and_dsl(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, world: dict[str, Any]
    ) -> None:
        async with client_for(app) as client:
            own = await client.get("/v1/schools", headers=auth("admin"))
            assert URN in [s["urn"] for s in own.json()]
            for headers in (foreign_admin(auth), foreign_dsl(auth)):
                response = await client.get("/v1/schools", headers=headers)
                assert response.status_code == 200
                assert response.json() == []

    @pytest.mark.parametrize("who", [foreign_admin, foreign_dsl])
    async def test_school_and_its_endpoints_are_404(
        self,
        app: FastAPI,
        client_for: ClientFor,
        auth: Auth,
        world: dict[str, Any],
        who: Callable[[Auth], dict[str, str]],
    ) -> None:
        headers = who(auth)
        endpoint = world["endpoint"]
        async with client_for(app) as client:
            calls = [
                client.get(f"/v1/schools/{URN}", headers=headers),
                client.patch(
                    f"/v1/schools/{URN}", json={"dsl_email": "x@y.example"}, headers=headers
                ),
                client.get(f"/v1/schools/{URN}/endpoints", headers=headers),
                client.post(
                    f"/v1/schools/{URN}/endpoints",
                    json={"url": "http://127.0.0.1:9/other"},
                    headers=headers,
                ),
                client.patch(f"/v1/endpoints/{endpoint}", json={"enabled": False}, headers=headers),
                client.post(f"/v1/endpoints/{endpoint}/rotate-secret", json={}, headers=headers),
                client.post(f"/v1/endpoints/{endpoint}/ping", headers=headers),
            ]
            for call in calls:
                response = await call
                assert response.status_code == 404, (response.request.url, response.text)
            still = await client.get(f"/v1/schools/{URN}/endpoints", headers=auth("admin"))
            assert still.json()[0]["enabled"] is True

    async def test_recover_is_404(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, world: dict[str, Any]
    ) -> None:
        async with client_for(app) as client:
            response = await client.post(
                f"/v1/endpoints/{world['endpoint']}/recover",
                json={"since": "2026-01-01T00:00:00Z"},
                headers=foreign_admin(auth),
            )
        assert response.status_code == 404

    async def test_import_does_not_take_over_another_councils_school(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, world: dict[str, Any]
    ) -> None:
        csv = (
            "URN,EstablishmentName,PhaseOfEducation (name),Postcode,EstablishmentStatus (name)\n"
            f"{URN},Taken Over,Primary,BD1 1AA,Open\n"
        )
        headers = {**foreign_admin(auth), "content-type": "text/csv"}
        async with client_for(app) as client:
            response = await client.post("/v1/schools/import", content=csv, headers=headers)
            assert response.status_code == 200, response.text
            assert response.json()["rows"][0]["status"] == "rejected"
            own = await client.get(f"/v1/schools/{URN}", headers=auth("admin"))
        assert own.json()["name"] == "Test Primary School"


class TestNotifications:
    async def test_list_is_empty(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, world: dict[str, Any]
    ) -> None:
        async with client_for(app) as client:
            mine = await client.get("/v1/notifications", headers=auth("admin"))
            assert world["notification"] in [n["id"] for n in mine.json()["items"]]
            for headers in (foreign_admin(auth), foreign_dsl(auth)):
                response = await client.get("/v1/notifications", headers=headers)
                assert response.status_code == 200
                assert response.json()["items"] == []

    @pytest.mark.parametrize(
        ("method", "suffix", "who", "body"),
        [
            ("GET", "", foreign_dsl, None),
            ("GET", "", foreign_admin, None),
            ("POST", "/acknowledge", foreign_dsl, None),
            (
                "POST",
                "/welfare-check",
                foreign_dsl,
                {"done_at": "2026-11-21T09:00:00Z", "done_by": "Ms Head", "outcome": "ok"},
            ),
            ("GET", "/attempts", foreign_admin, None),
            ("POST", "/resend", foreign_admin, None),
        ],
    )
    async def test_each_notification_endpoint_is_404(
        self,
        app: FastAPI,
        client_for: ClientFor,
        auth: Auth,
        world: dict[str, Any],
        session: AsyncSession,
        method: str,
        suffix: str,
        who: Callable[[Auth], dict[str, str]],
        body: dict[str, str] | None,
    ) -> None:
        path = f"/v1/notifications/{world['notification']}{suffix}"
        async with client_for(app) as client:
            response = await client.request(method, path, json=body, headers=who(auth))
        assert response.status_code == 404, response.text
        assert "Isolated" not in response.text
        row = await session.scalar(
            select(Notification).where(Notification.family_name == "Isolated")
        )
        assert row is not None
        assert row.acknowledged_at is None
        assert row.welfare_check_at is None

    async def test_unacknowledged_report_and_ehe_tasks_are_empty(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, world: dict[str, Any]
    ) -> None:
        async with client_for(app) as client:
            await client.post(
                "/v1/encompass/incidents",
                json=incident("ISO-EHE", children=[{"given_name": "N", "family_name": "Oschool"}]),
                headers=auth("police_feed", agency_id=FORCE),
            )
            own = await client.get("/v1/encompass/reports/unacknowledged", headers=auth("admin"))
            assert URN in [r["school_urn"] for r in own.json()]
            assert (await client.get("/v1/encompass/ehe-tasks", headers=auth("admin"))).json()
            headers = foreign_admin(auth)
            report = await client.get("/v1/encompass/reports/unacknowledged", headers=headers)
            tasks = await client.get("/v1/encompass/ehe-tasks", headers=headers)
        assert report.json() == []
        assert tasks.json() == []

    async def test_another_councils_feed_cannot_notify_this_councils_school(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, world: dict[str, Any]
    ) -> None:
        child = {"given_name": "Q", "family_name": "Crossing", "school_urn": URN}
        async with client_for(app) as client:
            response = await client.post(
                "/v1/encompass/incidents",
                json=incident("ISO-X", children=[child]),
                headers=auth("police_feed", agency_id=FORCE, council_id=OTHER),
            )
            assert response.status_code == 200, response.text
            result = response.json()["children"][0]
            assert result["ehe_reason"] == "unknown_school"
            listed = await client.get(
                "/v1/notifications", headers=auth("school_dsl", school_urn=URN)
            )
        assert [n["id"] for n in listed.json()["items"]] == [world["notification"]]
