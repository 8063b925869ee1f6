"""Welfare checks are history: a second check never overwrites the first."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth import Role, mint_token
from services.models.platform import AuditEntry
from services.settings import get_settings
from tests.notifications.conftest import create_school
from tests.notifications.test_alerts_api import submit

Auth = Callable[..., dict[str, str]]
ClientFor = Callable[[FastAPI], httpx.AsyncClient]

FIRST = {
    "done_at": datetime(2026, 11, 23, 9, 10, tzinfo=UTC).isoformat(),
    "done_by": "Ms Head (DSL)",
    "outcome": "Child seen in class; quiet; will check in again Friday.",
}
SECOND = {
    "done_at": datetime(2026, 11, 27, 10, 0, tzinfo=UTC).isoformat(),
    "done_by": "Mr Deputy (deputy DSL)",
    "outcome": "Friday check-in: child settled, talked to the learning mentor.",
}


async def post_check(
    client: httpx.AsyncClient, nid: str, headers: dict[str, str], body: dict[str, Any]
) -> httpx.Response:
    response = await client.post(
        f"/v1/notifications/{nid}/welfare-check", json=body, headers=headers
    )
    assert response.status_code == 200, response.text
    return response


class TestWelfareCheckHistory:
    async def test_a_second_check_is_added_and_the_first_keeps_its_outcome(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, session: AsyncSession
    ) -> None:
        await create_school(session, urn="500101")
        async with client_for(app) as client:
            nid = await submit(client, auth, "WC-1", "500101")
            dsl = auth("school_dsl", school_urn="500101")
            await post_check(client, nid, dsl, FIRST)
            await post_check(client, nid, dsl, SECOND)
            listed = await client.get(f"/v1/notifications/{nid}/welfare-checks", headers=dsl)
            detail = (await client.get(f"/v1/notifications/{nid}", headers=dsl)).json()
        assert listed.status_code == 200, listed.text
        assert [(c["done_by"], c["outcome"]) for c in listed.json()] == [
            (FIRST["done_by"], FIRST["outcome"]),
            (SECOND["done_by"], SECOND["outcome"]),
        ]
        assert all(c["recorded_by"] == "test-school_dsl" for c in listed.json())
        assert detail["welfare_check_outcome"] == SECOND["outcome"]  # the latest
        assert [c["outcome"] for c in detail["welfare_checks"]] == [
            FIRST["outcome"],
            SECOND["outcome"],
        ]
        audited = await session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity_id == nid)
        )
        assert audited.all().count("notification.welfare_check") == 2

    async def test_an_earlier_check_recorded_late_does_not_replace_the_latest(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, session: AsyncSession
    ) -> None:
        await create_school(session, urn="500102")
        async with client_for(app) as client:
            nid = await submit(client, auth, "WC-2", "500102")
            dsl = auth("school_dsl", school_urn="500102")
            await post_check(client, nid, dsl, SECOND)
            late = await post_check(client, nid, dsl, FIRST)
            listed = (
                await client.get(f"/v1/notifications/{nid}/welfare-checks", headers=dsl)
            ).json()
        assert late.json()["welfare_check_at"].startswith("2026-11-27")
        assert [c["done_by"] for c in listed] == [FIRST["done_by"], SECOND["done_by"]]

    async def test_the_same_check_sent_twice_is_kept_once(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, session: AsyncSession
    ) -> None:
        await create_school(session, urn="500103")
        async with client_for(app) as client:
            nid = await submit(client, auth, "WC-3", "500103")
            dsl = auth("school_dsl", school_urn="500103")
            await post_check(client, nid, dsl, FIRST)
            await post_check(client, nid, dsl, FIRST)
            listed = (
                await client.get(f"/v1/notifications/{nid}/welfare-checks", headers=dsl)
            ).json()
        assert len(listed) == 1

    async def test_another_schools_history_is_404_and_the_read_is_audited(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, session: AsyncSession
    ) -> None:
        await create_school(session, urn="500104")
        await create_school(session, urn="500105")
        async with client_for(app) as client:
            nid = await submit(client, auth, "WC-4", "500104")
            await post_check(client, nid, auth("school_dsl", school_urn="500104"), FIRST)
            foreign = await client.get(
                f"/v1/notifications/{nid}/welfare-checks",
                headers=auth("school_dsl", school_urn="500105"),
            )
            admin = await client.get(
                f"/v1/notifications/{nid}/welfare-checks", headers=auth("admin")
            )
        assert foreign.status_code == 404
        assert admin.status_code == 200
        audited = await session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity_id == nid)
        )
        assert "notification.welfare_checks_read" in audited.all()


class TestAnotherCouncil:
    async def test_another_councils_admin_gets_404_on_the_history_and_detail(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, session: AsyncSession
    ) -> None:
        await create_school(session, urn="500191")
        settings = get_settings().model_copy(update={"council_id": "elsewhere"})
        other = {"Authorization": f"Bearer {mint_token(settings, sub='x', role=Role.admin)}"}
        async with client_for(app) as client:
            nid = await submit(client, auth, "WC-COUNCIL", "500191")
            await post_check(client, nid, auth("school_dsl", school_urn="500191"), FIRST)
            codes = [
                (await client.get(f"/v1/notifications/{nid}{path}", headers=other)).status_code
                for path in ("", "/welfare-checks", "/corrections", "/attempts")
            ]
            ours = await client.get(
                f"/v1/notifications/{nid}/welfare-checks", headers=auth("admin")
            )
            listed = await client.get("/v1/notifications", headers=other)
        assert codes == [404, 404, 404, 404]
        assert listed.status_code == 200
        assert listed.json()["items"] == []
        assert ours.status_code == 200
        assert len(ours.json()) == 1
