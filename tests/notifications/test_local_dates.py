"""Incident dates shown to people are the council's local date (Europe/London), not UTC."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.delivery.messages import local_date
from notifications.settings import NotificationsSettings
from services.models.notifications import Delivery
from tests.notifications.conftest import create_endpoint, create_school, incident

Auth = Callable[..., dict[str, str]]
ClientFor = Callable[[FastAPI], httpx.AsyncClient]
FORCE = "west-yorkshire-police"
LONDON = "Europe/London"


class TestLocalDate:
    @pytest.mark.parametrize(
        ("at", "expected"),
        [
            # 00:30 BST in summer is 23:30 UTC the day before.
            (datetime(2026, 6, 14, 23, 30, tzinfo=UTC), date(2026, 6, 15)),
            # The last night of GMT (clocks go forward at 01:00 UTC on 29 March 2026).
            (datetime(2026, 3, 28, 23, 30, tzinfo=UTC), date(2026, 3, 28)),
            (datetime(2026, 3, 29, 0, 59, tzinfo=UTC), date(2026, 3, 29)),
            # The first night of BST: 00:30 on 30 March is 23:30 UTC on 29 March.
            (datetime(2026, 3, 29, 23, 30, tzinfo=UTC), date(2026, 3, 30)),
            # The last night of BST (clocks go back at 01:00 UTC on 25 October 2026).
            (datetime(2026, 10, 24, 23, 30, tzinfo=UTC), date(2026, 10, 25)),
            # 01:30 happens twice on 25 October: both are that day.
            (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), date(2026, 10, 25)),
            (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), date(2026, 10, 25)),
            # Back on GMT: 23:30 UTC is 23:30 local, the same day.
            (datetime(2026, 10, 25, 23, 30, tzinfo=UTC), date(2026, 10, 25)),
            # Winter: local is UTC.
            (datetime(2026, 12, 23, 0, 30, tzinfo=UTC), date(2026, 12, 23)),
        ],
    )
    def test_the_date_is_the_councils_local_date(self, at: datetime, expected: date) -> None:
        assert local_date(at, LONDON) == expected


class TestShownDates:
    async def test_an_incident_at_0030_bst_shows_that_day_in_webhook_email_and_api(
        self,
        app: FastAPI,
        client_for: ClientFor,
        auth: Auth,
        session: AsyncSession,
        nsettings: NotificationsSettings,
    ) -> None:
        school = await create_school(session, urn="107301")
        await create_endpoint(session, nsettings, school, "http://127.0.0.1:9/hook")
        at = datetime(2026, 6, 14, 23, 30, tzinfo=UTC)  # 00:30 BST on Monday 15 June
        async with client_for(app) as client:
            response = await client.post(
                "/v1/encompass/incidents",
                json=incident("WY-DST-1", at=at),
                headers=auth("police_feed", agency_id=FORCE),
            )
            assert response.status_code == 200, response.text
            listed = await client.get(
                "/v1/notifications", headers=auth("school_dsl", school_urn="107301")
            )
        deliveries = (await session.scalars(select(Delivery))).all()
        webhook = next(d for d in deliveries if d.channel == "webhook")
        email = next(d for d in deliveries if d.channel == "email")
        assert json.loads(webhook.body)["data"]["incident_date"] == "2026-06-15"
        assert "Incident date: 2026-06-15" in email.body
        assert listed.json()["items"][0]["incident_date"] == "2026-06-15"
