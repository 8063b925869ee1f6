"""Endpoint state by hand: enabling returns the school to webhooks; disabling emails its alerts."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.delivery.health import disable_endpoint
from notifications.intake.schemas import IncidentIn
from notifications.intake.service import IntakeContext, ingest_one
from notifications.settings import NotificationsSettings
from services.models.notifications import Delivery, Endpoint
from tests.notifications.conftest import create_endpoint, create_school, incident

Auth = Callable[..., dict[str, str]]
ClientFor = Callable[[FastAPI], httpx.AsyncClient]
URN = "400101"


async def alert(session: AsyncSession, settings: NotificationsSettings, ref: str) -> uuid.UUID:
    ctx = IntakeContext(
        session=session,
        settings=settings,
        council_id="demo",
        force_id="west-yorkshire-police",
        actor=None,
        source="batch",
    )
    child = {**incident()["children"][0], "school_urn": URN}
    result = await ingest_one(ctx, IncidentIn.model_validate(incident(ref, children=[child])))
    return result.children[0].notification_id


async def deliveries(session: AsyncSession, notification_id: uuid.UUID) -> set[tuple[str, str]]:
    rows = await session.scalars(
        select(Delivery).where(Delivery.notification_id == notification_id)
    )
    return {(d.channel, d.status) for d in rows}


class TestReEnabling:
    async def test_an_automatically_disabled_endpoint_enabled_again_brings_webhooks_back(
        self,
        app: FastAPI,
        client_for: ClientFor,
        auth: Auth,
        session: AsyncSession,
        nsettings: NotificationsSettings,
    ) -> None:
        school = await create_school(session, urn=URN, delivery_preference="webhook")
        endpoint = await create_endpoint(session, nsettings, school, "http://127.0.0.1:9/hook")
        now = datetime.now(UTC)
        await disable_endpoint(session, nsettings, endpoint, reason="410 Gone", now=now)
        await session.flush()
        assert school.delivery_preference == "email"
        async with client_for(app) as client:
            enabled = await client.patch(
                f"/v1/endpoints/{endpoint.id}",
                json={"enabled": True},
                headers=auth("school_dsl", school_urn=URN),
            )
        assert enabled.status_code == 200
        await session.refresh(school)
        assert (school.delivery_preference, school.preference_before_fallback) == (
            "webhook",
            None,
        )
        notification_id = await alert(session, nsettings, "WY-REENABLE-1")
        assert await deliveries(session, notification_id) == {("webhook", "pending")}

    async def test_a_preference_the_school_chose_itself_is_left_alone(
        self,
        app: FastAPI,
        client_for: ClientFor,
        auth: Auth,
        session: AsyncSession,
        nsettings: NotificationsSettings,
    ) -> None:
        school = await create_school(session, urn=URN, delivery_preference="webhook")
        endpoint = await create_endpoint(session, nsettings, school, "http://127.0.0.1:9/hook")
        await disable_endpoint(session, nsettings, endpoint, reason="x", now=datetime.now(UTC))
        headers = auth("school_dsl", school_urn=URN)
        async with client_for(app) as client:
            chose = await client.patch(
                f"/v1/schools/{URN}", json={"delivery_preference": "email"}, headers=auth("admin")
            )
            assert chose.status_code == 200
            await client.patch(
                f"/v1/endpoints/{endpoint.id}", json={"enabled": True}, headers=headers
            )
        await session.refresh(school)
        assert school.delivery_preference == "email"


class TestDisablingByHand:
    async def test_pending_alerts_go_by_email_and_the_school_moves_to_email(
        self,
        app: FastAPI,
        client_for: ClientFor,
        auth: Auth,
        session: AsyncSession,
        nsettings: NotificationsSettings,
    ) -> None:
        school = await create_school(session, urn=URN, delivery_preference="webhook")
        endpoint = await create_endpoint(session, nsettings, school, "http://127.0.0.1:9/hook")
        notification_id = await alert(session, nsettings, "WY-HAND-1")
        assert await deliveries(session, notification_id) == {("webhook", "pending")}
        async with client_for(app) as client:
            disabled = await client.patch(
                f"/v1/endpoints/{endpoint.id}",
                json={"enabled": False, "disabled_reason": "changing supplier"},
                headers=auth("school_dsl", school_urn=URN),
            )
        assert disabled.status_code == 200
        assert await deliveries(session, notification_id) == {
            ("webhook", "abandoned"),
            ("email", "pending"),
        }
        await session.refresh(school)
        assert school.delivery_preference == "email"
        stored = await session.get_one(Endpoint, endpoint.id)
        assert (stored.enabled, stored.disabled_reason) == (False, "changing supplier")

    async def test_disabling_an_already_disabled_endpoint_changes_nothing(
        self,
        app: FastAPI,
        client_for: ClientFor,
        auth: Auth,
        session: AsyncSession,
        nsettings: NotificationsSettings,
    ) -> None:
        school = await create_school(session, urn=URN, delivery_preference="webhook")
        endpoint = await create_endpoint(session, nsettings, school, "http://127.0.0.1:9/hook")
        await disable_endpoint(session, nsettings, endpoint, reason="gone", now=datetime.now(UTC))
        await session.flush()
        emails = await session.scalars(select(Delivery.id).where(Delivery.kind == "admin_alert"))
        before = len(emails.all())
        async with client_for(app) as client:
            again = await client.patch(
                f"/v1/endpoints/{endpoint.id}",
                json={"enabled": False},
                headers=auth("school_dsl", school_urn=URN),
            )
        assert again.status_code == 200
        await session.flush()
        emails = await session.scalars(select(Delivery.id).where(Delivery.kind == "admin_alert"))
        assert (before, len(emails.all())) == (1, 1)
