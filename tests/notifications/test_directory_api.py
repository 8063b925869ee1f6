"""The school directory API: schools, CSV import, endpoints, secrets, ping."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks.webhooks import Webhook

from notifications.settings import NotificationsSettings
from services.models.notifications import Attempt, Endpoint
from services.models.platform import AuditEntry
from tests.notifications.conftest import Receiver, create_school

Auth = Callable[..., dict[str, str]]
ClientFor = Callable[[FastAPI], httpx.AsyncClient]

NEW_SCHOOL: dict[str, Any] = {
    "urn": "107999",
    "name": "Bowling Park Primary School",
    "phase": "Primary",
    "postcode": "bd5 7br",
    "dsl_email": "dsl@bowlingpark.example",
    "delivery_preference": "webhook",
    "terms": [{"start": "2026-09-03", "end": "2026-12-18"}],
    "closure_days": ["2026-10-30"],
}


class TestSchools:
    async def test_admin_creates_and_reads_a_school_with_defaults(
        self, app: FastAPI, client_for: ClientFor, auth: Auth
    ) -> None:
        async with client_for(app) as client:
            created = await client.post("/v1/schools", json=NEW_SCHOOL, headers=auth("admin"))
            assert created.status_code == 201, created.text
            body = created.json()
            assert body["school_day_start"] == "08:30:00"
            assert body["postcode"] == "BD5 7BR"
            again = await client.post("/v1/schools", json=NEW_SCHOOL, headers=auth("admin"))
            assert again.status_code == 409
            read = await client.get("/v1/schools/107999", headers=auth("admin"))
            assert read.json()["terms"] == [{"start": "2026-09-03", "end": "2026-12-18"}]

    async def test_invalid_school_lists_every_failing_field(
        self, app: FastAPI, client_for: ClientFor, auth: Auth
    ) -> None:
        bad = {"urn": "12", "name": "", "postcode": "nope", "dsl_email": "x"}
        async with client_for(app) as client:
            response = await client.post("/v1/schools", json=bad, headers=auth("admin"))
        assert response.status_code == 422
        paths = {f["path"] for f in response.json()["fields"]}
        assert {"urn", "name", "postcode", "dsl_email"} <= paths

    async def test_dsl_sees_only_their_school_and_may_change_only_contacts(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, session: AsyncSession
    ) -> None:
        await create_school(session, urn="200001")
        await create_school(session, urn="200002")
        dsl = auth("school_dsl", school_urn="200001")
        async with client_for(app) as client:
            listed = await client.get("/v1/schools", headers=dsl)
            assert [s["urn"] for s in listed.json()] == ["200001"]
            assert (await client.get("/v1/schools/200002", headers=dsl)).status_code == 404
            ok = await client.patch(
                "/v1/schools/200001", json={"deputy_email": "new@school.example"}, headers=dsl
            )
            assert ok.status_code == 200
            assert ok.json()["deputy_email"] == "new@school.example"
            refused = await client.patch("/v1/schools/200001", json={"name": "X"}, headers=dsl)
            assert refused.status_code == 403
            foreign = await client.patch(
                "/v1/schools/200002", json={"dsl_email": "a@b.example"}, headers=dsl
            )
            assert foreign.status_code == 404
            police = await client.get("/v1/schools", headers=auth("police_feed", agency_id="wyp"))
            assert police.status_code == 403


CSV = (
    "URN,EstablishmentName,TypeOfEstablishment (name),EstablishmentStatus (name),"
    "PhaseOfEducation (name),Postcode\n"
    "300001,Alpha Primary,Community school,Open,Primary,BD1 1AA\n"
    "300002,Beta Academy,Academy converter,Open,Secondary,bd2 2bb\n"
    "ABC,Broken Row,Community school,Open,Primary,BD3 3AB\n"
    "300003,Gamma Closed,Community school,Closed,Primary,BD4 4DB\n"
    "300004,,Community school,Open,Primary,NOTAPOSTCODE\n"
)


class TestImport:
    async def test_register_csv_gives_a_result_for_every_row(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, session: AsyncSession
    ) -> None:
        await create_school(session, urn="300002", name="Old Name")
        headers = {**auth("admin"), "content-type": "text/csv"}
        async with client_for(app) as client:
            response = await client.post("/v1/schools/import", content=CSV, headers=headers)
            assert response.status_code == 200, response.text
            result = response.json()
            assert (result["created"], result["updated"]) == (1, 1)
            assert (result["rejected"], result["skipped"]) == (2, 1)
            rejected = [r for r in result["rows"] if r["status"] == "rejected"]
            assert rejected[0]["reasons"] == ["URN: must be 6 or 7 digits"]
            assert set(rejected[1]["reasons"]) == {
                "EstablishmentName: required",
                "Postcode: not a valid UK postcode",
            }
            beta = await client.get("/v1/schools/300002", headers=auth("admin"))
            assert beta.json()["name"] == "Beta Academy"
            assert beta.json()["postcode"] == "BD2 2BB"

    async def test_csv_without_required_columns_is_422(
        self, app: FastAPI, client_for: ClientFor, auth: Auth
    ) -> None:
        headers = {**auth("admin"), "content-type": "text/csv"}
        async with client_for(app) as client:
            response = await client.post(
                "/v1/schools/import", content="a,b\n1,2\n", headers=headers
            )
        assert response.status_code == 422
        assert {f["path"] for f in response.json()["fields"]} == {"URN", "EstablishmentName"}


class TestEndpoints:
    async def test_secret_is_shown_once_and_stored_encrypted(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, session: AsyncSession
    ) -> None:
        await create_school(session, urn="400001")
        dsl = auth("school_dsl", school_urn="400001")
        async with client_for(app) as client:
            created = await client.post(
                "/v1/schools/400001/endpoints",
                json={"url": "http://127.0.0.1:9/hook"},
                headers=dsl,
            )
            assert created.status_code == 201, created.text
            secret = created.json()["secret"]
            assert secret.startswith("whsec_")
            listed = await client.get("/v1/schools/400001/endpoints", headers=dsl)
            assert "secret" not in listed.json()[0]
        stored = await session.scalar(select(Endpoint.secret_encrypted))
        assert stored is not None
        assert secret not in stored
        assert secret[6:] not in stored

    async def test_private_address_is_refused_at_registration(
        self,
        client_for: ClientFor,
        auth: Auth,
        session: AsyncSession,
        nsettings: NotificationsSettings,
    ) -> None:
        from notifications.main import create_app
        from notifications.settings import get_notifications_settings

        await create_school(session, urn="400002")
        production_like = nsettings.model_copy(update={"environment": "production"})
        app = create_app()
        app.dependency_overrides[get_notifications_settings] = lambda: production_like
        async with client_for(app) as client:
            for url, reason in (
                ("http://school.example/hook", "https"),
                ("https://127.0.0.1/hook", "loopback"),
                ("https://10.0.0.8/hook", "private"),
                ("https://169.254.169.254/latest", "link-local"),
            ):
                response = await client.post(
                    "/v1/schools/400002/endpoints", json={"url": url}, headers=auth("admin")
                )
                assert response.status_code == 422
                assert reason in response.json()["fields"][0]["reason"]

    async def test_foreign_school_endpoints_answer_404(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, session: AsyncSession
    ) -> None:
        await create_school(session, urn="400003")
        await create_school(session, urn="400004")
        async with client_for(app) as client:
            created = await client.post(
                "/v1/schools/400004/endpoints",
                json={"url": "http://127.0.0.1:9/hook"},
                headers=auth("admin"),
            )
            endpoint_id = created.json()["id"]
            other = auth("school_dsl", school_urn="400003")
            assert (
                await client.get("/v1/schools/400004/endpoints", headers=other)
            ).status_code == 404
            ping = await client.post(f"/v1/endpoints/{endpoint_id}/ping", headers=other)
            assert ping.status_code == 404

    async def test_ping_reaches_a_real_receiver_and_rotation_sends_both_signatures(
        self,
        app: FastAPI,
        client_for: ClientFor,
        auth: Auth,
        session: AsyncSession,
        receiver: Receiver,
    ) -> None:
        await create_school(session, urn="400005")
        dsl = auth("school_dsl", school_urn="400005")
        async with client_for(app) as client:
            created = await client.post(
                "/v1/schools/400005/endpoints",
                json={"url": receiver.url(), "event_types": ["encompass.ping"]},
                headers=dsl,
            )
            endpoint_id, old_secret = created.json()["id"], created.json()["secret"]
            ping = await client.post(f"/v1/endpoints/{endpoint_id}/ping", headers=dsl)
            assert ping.status_code == 200
            assert ping.json()["success"] is True
            rotated = await client.post(
                f"/v1/endpoints/{endpoint_id}/rotate-secret", json={"overlap_hours": 2}, headers=dsl
            )
            new_secret = rotated.json()["secret"]
            assert rotated.json()["rotation_overlap_until"] is not None
            await client.post(f"/v1/endpoints/{endpoint_id}/ping", headers=dsl)
        first, second = receiver.received
        assert Webhook(old_secret).verify(first.body, first.headers)["type"] == "encompass.ping"
        assert len(second.headers["webhook-signature"].split(" ")) == 2
        for secret in (old_secret, new_secret):
            Webhook(secret).verify(second.body, second.headers)
        attempts = (await session.scalars(select(Attempt))).all()
        assert [a.status_code for a in attempts] == [200, 200]
        audited = await session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity_type == "endpoint")
        )
        assert "endpoint.rotate_secret" in audited.all()


class TestRecover:
    async def test_failed_alerts_since_a_time_are_requeued_and_disabled_endpoints_refuse(
        self,
        app: FastAPI,
        client_for: ClientFor,
        auth: Auth,
        session: AsyncSession,
        nsettings: NotificationsSettings,
    ) -> None:
        from datetime import UTC, datetime, timedelta

        from services.models.notifications import Delivery
        from tests.notifications.conftest import create_endpoint

        school = await create_school(session, urn="400006")
        endpoint = await create_endpoint(session, nsettings, school, "http://127.0.0.1:9/hook")
        for status in ("failed", "abandoned", "delivered"):
            session.add(
                Delivery(
                    school_urn=school.urn,
                    channel="webhook",
                    kind="alert",
                    endpoint_id=endpoint.id,
                    message_id=f"msg_{status}",
                    body="{}",
                    status=status,
                    next_attempt_at=None,
                )
            )
        await session.flush()
        since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        async with client_for(app) as client:
            path = f"/v1/endpoints/{endpoint.id}"
            recovered = await client.post(
                f"{path}/recover", json={"since": since}, headers=auth("admin")
            )
            assert recovered.json() == {"requeued": 2}
            disabled = await client.patch(
                path,
                json={"enabled": False, "disabled_reason": "school changing supplier"},
                headers=auth("school_dsl", school_urn="400006"),
            )
            assert disabled.json()["disabled_reason"] == "school changing supplier"
            refused = await client.post(
                f"{path}/recover", json={"since": since}, headers=auth("admin")
            )
            assert refused.status_code == 409
        # Disabling by hand abandons what was pending, as automatic disabling does.
        abandoned = await session.scalars(select(Delivery).where(Delivery.status == "abandoned"))
        assert {d.message_id for d in abandoned} == {"msg_failed", "msg_abandoned"}
