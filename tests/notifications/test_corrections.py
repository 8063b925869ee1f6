"""A corrected incident: the same police reference resent with the same incident and child is a
correction of the first notification (history kept), and the school is told again only if what
it sees changed."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.settings import NotificationsSettings
from services.models.notifications import Delivery, ForceSharing, Notification
from services.models.notifications_extra import NotificationCorrection
from services.models.platform import AuditEntry
from tests.notifications.conftest import create_endpoint, create_school, incident

Auth = Callable[..., dict[str, str]]
ClientFor = Callable[[FastAPI], httpx.AsyncClient]
FORCE = "west-yorkshire-police"
URN = "700001"


def amira(**changes: Any) -> dict[str, Any]:
    child: dict[str, Any] = {
        "given_name": "Amira",
        "family_name": "Testchild",
        "date_of_birth": "2017-03-04",
        "school_urn": URN,
        "present": True,
    }
    child.update(changes)
    return {k: v for k, v in child.items() if v is not None}


async def send(
    client: httpx.AsyncClient, auth: Auth, children: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        "/v1/encompass/incidents",
        json=incident("WY-CORR-1", children=children, **extra),
        headers=auth("police_feed", agency_id=FORCE),
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def count(session: AsyncSession, model: type, *where: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def school(session: AsyncSession, settings: NotificationsSettings, **sharing: bool) -> None:
    created = await create_school(session, urn=URN)
    await create_endpoint(session, settings, created, "http://127.0.0.1:9/hook")
    session.add(ForceSharing(council_id="demo", force_id=FORCE, **{"share_name": True, **sharing}))
    await session.flush()


class TestCorrections:
    async def test_a_corrected_date_of_birth_corrects_the_first_notification(
        self,
        app: FastAPI,
        client_for: ClientFor,
        auth: Auth,
        session: AsyncSession,
        nsettings: NotificationsSettings,
    ) -> None:
        await school(session, nsettings, share_date_of_birth=False)
        async with client_for(app) as client:
            first = await send(client, auth, [amira()])
            deliveries = await count(session, Delivery)
            again = await send(client, auth, [amira(date_of_birth="2017-04-03")])
        assert again["status"] == "corrected"
        child = again["children"][0]
        assert child["status"] == "corrected"
        assert child["notification_id"] == first["children"][0]["notification_id"]
        assert await count(session, Notification) == 1
        notification = await session.get_one(Notification, child["notification_id"])
        assert notification.date_of_birth.isoformat() == "2017-04-03"  # type: ignore[union-attr]
        (correction,) = (await session.scalars(select(NotificationCorrection))).all()
        assert correction.changed_fields == ["date_of_birth"]
        assert correction.previous == {"date_of_birth": "2017-03-04"}
        # The force does not share dates of birth: the school sees nothing new, is not told.
        assert correction.school_told is False
        assert await count(session, Delivery) == deliveries
        audited = await count(session, AuditEntry, AuditEntry.action == "notification.correct")
        assert audited == 1

    async def test_the_admin_lists_the_corrections_and_a_school_cannot(
        self,
        app: FastAPI,
        client_for: ClientFor,
        auth: Auth,
        session: AsyncSession,
        nsettings: NotificationsSettings,
    ) -> None:
        await school(session, nsettings)
        async with client_for(app) as client:
            first = await send(client, auth, [amira()])
            await send(client, auth, [amira(date_of_birth="2017-04-03")])
            nid = first["children"][0]["notification_id"]
            listed = await client.get(f"/v1/notifications/{nid}/corrections", headers=auth("admin"))
            dsl = await client.get(
                f"/v1/notifications/{nid}/corrections", headers=auth("school_dsl", school_urn=URN)
            )
        assert listed.status_code == 200, listed.text
        (row,) = listed.json()
        assert (row["changed_fields"], row["previous"]) == (
            ["date_of_birth"],
            {"date_of_birth": "2017-03-04"},
        )
        assert dsl.status_code == 403

    async def test_the_school_is_told_again_when_what_it_sees_changed(
        self,
        app: FastAPI,
        client_for: ClientFor,
        auth: Auth,
        session: AsyncSession,
        nsettings: NotificationsSettings,
    ) -> None:
        await school(session, nsettings, share_date_of_birth=True)
        async with client_for(app) as client:
            first = await send(client, auth, [amira()])
            await send(client, auth, [amira(date_of_birth="2017-04-03")])
            detail = await client.get(
                f"/v1/notifications/{first['children'][0]['notification_id']}",
                headers=auth("school_dsl", school_urn=URN),
            )
        corrections = (
            await session.scalars(select(Delivery).where(Delivery.kind == "correction"))
        ).all()
        webhook = next(d for d in corrections if d.channel == "webhook")
        email = next(d for d in corrections if d.channel == "email")
        original = (
            await session.scalars(
                select(Delivery).where(Delivery.kind == "alert", Delivery.channel == "webhook")
            )
        ).one()
        assert webhook.message_id != original.message_id  # a new message, not a retry
        assert json.loads(webhook.body)["data"]["corrected"] is True
        assert email.subject is not None
        assert email.subject.startswith("Corrected:")
        for identifying in ("Amira", "Testchild", "2017"):
            assert identifying not in webhook.body
            assert identifying not in email.body.replace("2017-", "")  # no DOB in the email
        assert detail.json()["child"]["date_of_birth"] == "2017-04-03"
        (correction,) = (await session.scalars(select(NotificationCorrection))).all()
        assert correction.school_told is True

    async def test_an_added_date_of_birth_is_a_correction_not_a_second_child(
        self,
        app: FastAPI,
        client_for: ClientFor,
        auth: Auth,
        session: AsyncSession,
        nsettings: NotificationsSettings,
    ) -> None:
        await school(session, nsettings)
        async with client_for(app) as client:
            await send(client, auth, [amira(date_of_birth=None)])
            again = await send(client, auth, [amira()])
        assert again["children"][0]["status"] == "corrected"
        assert await count(session, Notification) == 1

    async def test_a_changed_presence_is_shared_and_told(
        self,
        app: FastAPI,
        client_for: ClientFor,
        auth: Auth,
        session: AsyncSession,
        nsettings: NotificationsSettings,
    ) -> None:
        await school(session, nsettings)  # present is shared by default
        async with client_for(app) as client:
            await send(client, auth, [amira()])
            await send(client, auth, [amira(present=False)])
        (correction,) = (await session.scalars(select(NotificationCorrection))).all()
        assert (correction.changed_fields, correction.school_told) == (["present"], True)

    async def test_the_same_resend_twice_corrects_once(
        self,
        app: FastAPI,
        client_for: ClientFor,
        auth: Auth,
        session: AsyncSession,
        nsettings: NotificationsSettings,
    ) -> None:
        await school(session, nsettings, share_date_of_birth=True)
        async with client_for(app) as client:
            await send(client, auth, [amira()])
            await send(client, auth, [amira(date_of_birth="2017-04-03")])
            deliveries = await count(session, Delivery)
            third = await send(client, auth, [amira(date_of_birth="2017-04-03")])
        assert third["status"] == "duplicate"
        assert await count(session, NotificationCorrection) == 1
        assert await count(session, Delivery) == deliveries

    async def test_a_left_out_value_is_not_a_correction(
        self,
        app: FastAPI,
        client_for: ClientFor,
        auth: Auth,
        session: AsyncSession,
        nsettings: NotificationsSettings,
    ) -> None:
        await school(session, nsettings)
        async with client_for(app) as client:
            await send(client, auth, [amira()])
            again = await send(client, auth, [amira(present=None)])
        assert again["status"] == "duplicate"
        assert await count(session, NotificationCorrection) == 0

    async def test_a_corrected_incident_time_corrects_every_child_and_is_told(
        self,
        app: FastAPI,
        client_for: ClientFor,
        auth: Auth,
        session: AsyncSession,
        nsettings: NotificationsSettings,
    ) -> None:
        await school(session, nsettings)
        sibling = amira(given_name="Sami", date_of_birth="2019-01-02")
        corrected_at = datetime(2026, 11, 20, 21, 0, tzinfo=UTC).isoformat()
        async with client_for(app) as client:
            await send(client, auth, [amira(), sibling])
            again = await send(client, auth, [amira()], incident_at=corrected_at)
        assert again["status"] == "corrected"
        rows = (await session.scalars(select(NotificationCorrection))).all()
        assert len(rows) == 2  # the sibling left out of the resend is corrected too
        assert all(r.changed_fields == ["incident_at"] and r.school_told for r in rows)
        assert rows[0].previous == {"incident_at": "2026-11-20T22:30:00+00:00"}

    async def test_a_corrected_incident_time_moves_an_unacknowledged_deadline(
        self,
        app: FastAPI,
        client_for: ClientFor,
        auth: Auth,
        session: AsyncSession,
        nsettings: NotificationsSettings,
    ) -> None:
        await school(session, nsettings)
        # Thursday 19 Nov 22:30 corrected to Thursday 19 Nov 07:00: due Thursday 08:30.
        async with client_for(app) as client:
            first = await send(client, auth, [amira()], incident_at="2026-11-19T22:30:00Z")
            await send(client, auth, [amira()], incident_at="2026-11-19T07:00:00Z")
        notification = await session.get_one(Notification, first["children"][0]["notification_id"])
        assert notification.deadline_at == datetime(2026, 11, 19, 8, 30, tzinfo=UTC)
        (row,) = (await session.scalars(select(NotificationCorrection))).all()
        assert row.changed_fields == ["deadline_at", "incident_at"]
        assert row.previous["deadline_at"] == "2026-11-20T08:30:00+00:00"

    async def test_a_new_sibling_with_another_name_is_a_new_notification(
        self,
        app: FastAPI,
        client_for: ClientFor,
        auth: Auth,
        session: AsyncSession,
        nsettings: NotificationsSettings,
    ) -> None:
        await school(session, nsettings)
        async with client_for(app) as client:
            await send(client, auth, [amira()])
            again = await send(
                client,
                auth,
                [amira(), amira(given_name="Ava", date_of_birth="2017-03-04")],  # a twin
            )
        assert [c["status"] for c in again["children"]] == ["duplicate", "created"]
        assert await count(session, Notification) == 2
        assert await count(session, NotificationCorrection) == 0
