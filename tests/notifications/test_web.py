"""The schools' and the admin's pages: the same visibility, audit rows and errors as the API."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.demo import seed
from services.models.notifications import Notification
from services.models.platform import AuditEntry
from services.settings import get_settings
from tests.conftest import ClientFactory, TokenFactory
from tests.web.helpers import post_form, sign_in


@pytest.fixture
async def demo_schools(session: AsyncSession) -> AsyncSession:
    """The demo council's schools (107301 is the demo DSL's) in the test's transaction."""
    await seed(session, get_settings())
    return session


@pytest.fixture
async def web(
    client_for: ClientFactory, app: FastAPI, demo_schools: AsyncSession
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as c:
        yield c


async def _incident(web: httpx.AsyncClient, auth: TokenFactory) -> uuid.UUID:
    police = auth("police_feed", agency_id="west-yorkshire-police")
    response = await web.post(
        "/v1/encompass/incidents",
        headers=police,
        json={
            "police_reference": f"WYP/{uuid.uuid4().hex[:6]}",
            "incident_at": (datetime.now(UTC) - timedelta(hours=3)).isoformat(),
            "children": [{"given_name": "Sam", "family_name": "Example", "school_urn": "107301"}],
        },
    )
    assert response.status_code == 200, response.text
    return uuid.UUID(response.json()["children"][0]["notification_id"])


async def _audits(session: AsyncSession, action: str, entity_id: object) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == action, AuditEntry.entity_id == str(entity_id))
    )
    return int(count or 0)


class TestDslPages:
    async def test_the_detail_is_audited_and_reminds_the_dsl_not_to_contact_parents(
        self, web: httpx.AsyncClient, auth: TokenFactory, demo_schools: AsyncSession
    ) -> None:
        nid = await _incident(web, auth)
        await sign_in(web, "dsl")
        listing = await web.get("/school/notifications")
        assert f"/school/notifications/{nid}" in listing.text
        page = await web.get(f"/school/notifications/{nid}")
        assert page.status_code == 200
        assert "Please do not contact the child" in page.text
        assert page.headers["cache-control"] == "no-store"
        assert await _audits(demo_schools, "notification.read", nid) == 1

    async def test_a_dsl_of_another_school_gets_not_found(
        self, web: httpx.AsyncClient, auth: TokenFactory, demo_schools: AsyncSession
    ) -> None:
        nid = await _incident(web, auth)
        await sign_in(web, "dsl-other")
        page = await web.get(f"/school/notifications/{nid}")
        assert page.status_code == 404
        assert "Sam" not in page.text
        assert await _audits(demo_schools, "notification.read", nid) == 0

    async def test_acknowledge_then_a_welfare_check_with_a_bad_time_then_a_good_one(
        self, web: httpx.AsyncClient, auth: TokenFactory, demo_schools: AsyncSession
    ) -> None:
        nid = await _incident(web, auth)
        path = f"/school/notifications/{nid}"
        await sign_in(web, "dsl")
        ack = await post_form(web, f"{path}/acknowledge", {}, from_page=path)
        assert ack.status_code == 303
        check = {"day": "31", "month": "2", "year": "2026", "time": "09:15", "outcome": "Fine"}
        refused = await post_form(
            web, f"{path}/welfare-check", {**check, "done_by": "J. Head"}, from_page=path
        )
        assert refused.status_code == 422
        assert "enter the date and the time of the check" in refused.text
        now = datetime.now(UTC)
        check.update(day=str(now.day), month=str(now.month), year=str(now.year))
        check["time"] = now.strftime("%H:%M")
        done = await post_form(
            web, f"{path}/welfare-check", {**check, "done_by": "J. Head"}, from_page=path
        )
        assert done.status_code == 303, done.text
        row = await demo_schools.get(Notification, nid)
        assert row is not None
        assert row.acknowledged_by == "demo-dsl"
        assert row.welfare_check_by == "J. Head"


class TestAdminPages:
    async def test_a_new_endpoints_secret_is_shown_once(
        self, web: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        await sign_in(web, "admin")
        schools = await web.get("/admin/schools")
        assert "/admin/schools/107301" in schools.text
        path = "/admin/schools/107302"
        bad = await post_form(web, f"{path}/endpoints", {"url": "nope"}, from_page=path)
        assert bad.status_code == 422
        assert "govuk-error-summary" in bad.text
        created = await post_form(
            web, f"{path}/endpoints", {"url": "http://127.0.0.1:9/hook"}, from_page=path
        )
        assert created.status_code == 200, created.text
        assert 'data-testid="secret"' in created.text
        secret = created.text.split('data-testid="secret">')[1].split("<")[0]
        assert secret.startswith("whsec_")
        assert secret not in (await web.get(path)).text

    async def test_the_unacknowledged_report_lists_each_school(
        self, web: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        await _incident(web, auth)
        await sign_in(web, "admin")
        page = await web.get("/admin/unacknowledged")
        assert page.status_code == 200
        assert "Low Moor" in page.text
