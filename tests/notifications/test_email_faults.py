"""Email: RFC 5322 headers on every message; a failing mail server retried, then escalated."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifications.delivery.dispatch import deliver_due
from notifications.delivery.transport import make_client, send_email
from notifications.intake.schemas import IncidentIn
from notifications.intake.service import IntakeContext, ingest_one
from notifications.settings import NotificationsSettings
from services.db import transaction
from services.models.notifications import Attempt, Delivery, Notification
from services.models.platform import OutboxEvent
from tests.notifications.conftest import create_school, free_port, incident
from tests.services.test_app import log_lines  # noqa: F401 - the fixture

Maker = async_sessionmaker[AsyncSession]
Auth = Callable[..., dict[str, str]]
ClientFor = Callable[[FastAPI], httpx.AsyncClient]


class RawSink:
    def __init__(self) -> None:
        self.raw: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.raw.append(envelope.content)
        return "250 OK"


@pytest.fixture
def raw_sink() -> Iterator[tuple[RawSink, int]]:
    sink, port = RawSink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


class TestHeaders:
    async def test_every_message_has_a_date_and_a_message_id_of_the_senders_domain(
        self, nsettings: NotificationsSettings, raw_sink: tuple[RawSink, int]
    ) -> None:
        sink, port = raw_sink
        settings = nsettings.model_copy(update={"smtp_port": port})
        result = await send_email(
            settings, recipients=["dsl@school.example"], subject="s", text="t", message_id="msg_1"
        )
        assert result.outcome == "delivered"
        (raw,) = sink.raw
        parsed = message_from_bytes(raw)
        sent = parsedate_to_datetime(parsed["Date"])
        assert abs((sent - datetime.now(UTC)).total_seconds()) < 3600
        assert parsed["Message-ID"] == "<msg_1@frontdoor.example>"


async def email_only_alert(
    maker: Maker, settings: NotificationsSettings, deadline: datetime
) -> uuid.UUID:
    async with transaction(maker) as session:
        await create_school(session, urn="107301", delivery_preference="email")
        ctx = IntakeContext(
            session=session,
            settings=settings,
            council_id="demo",
            force_id="west-yorkshire-police",
            actor=None,
            source="batch",
        )
        result = await ingest_one(ctx, IncidentIn.model_validate(incident("WY-SMTP-1")))
        notification_id = result.children[0].notification_id
        # The deadline under test, and the fallback point the queue derives from it.
        fallback = deadline - timedelta(seconds=settings.fallback_lead_seconds)
        await session.execute(
            update(Notification)
            .where(Notification.id == notification_id)
            .values(deadline_at=deadline)
        )
        await session.execute(
            update(Delivery)
            .where(Delivery.notification_id == notification_id)
            .values(deadline_at=deadline, fallback_at=fallback)
        )
        return notification_id


async def state(
    maker: Maker, notification_id: uuid.UUID
) -> tuple[Notification, list[Attempt], int]:
    async with transaction(maker) as session:
        notification = await session.get_one(Notification, notification_id)
        attempts = (await session.scalars(select(Attempt))).all()
        escalated = await session.scalars(
            select(OutboxEvent.id).where(OutboxEvent.topic == "encompass.escalated")
        )
        return notification, list(attempts), len(escalated.all())


class TestARefusingMailServer:
    @pytest.fixture
    def refusing(self, nsettings: NotificationsSettings) -> NotificationsSettings:
        # Nothing listens on this loopback port: every connection is refused.
        return nsettings.model_copy(update={"smtp_port": free_port()})

    async def test_is_retried_and_nothing_escalates_while_there_is_time(
        self, committed_db: str, maker: Maker, refusing: NotificationsSettings
    ) -> None:
        deadline = datetime.now(UTC) + timedelta(hours=5)
        notification_id = await email_only_alert(maker, refusing, deadline)
        async with make_client(refusing) as client:
            await deliver_due(maker, refusing, client, max_batches=3)
        notification, attempts, escalations = await state(maker, notification_id)
        assert len(attempts) >= 2  # retried (the test schedule retries at once)
        assert {a.outcome for a in attempts} == {"failed"}
        assert (notification.escalated_at, escalations) == (None, 0)
        async with transaction(maker) as session:
            (email,) = (await session.scalars(select(Delivery))).all()
        assert email.status == "pending"

    async def test_past_the_fallback_point_it_escalates_and_the_unsent_escalation_shows(
        self,
        committed_db: str,
        maker: Maker,
        refusing: NotificationsSettings,
        app: FastAPI,
        client_for: ClientFor,
        auth: Auth,
        log_lines: io.StringIO,  # noqa: F811
    ) -> None:
        deadline = datetime.now(UTC) + timedelta(minutes=30)  # fallback point already passed
        notification_id = await email_only_alert(maker, refusing, deadline)
        async with make_client(refusing) as client:
            await deliver_due(maker, refusing, client, max_batches=3)
        notification, attempts, escalations = await state(maker, notification_id)
        assert notification.escalated_at is not None
        assert notification.escalated_at < deadline
        assert escalations == 1  # once, however many attempts failed
        assert len(attempts) >= 2
        async with transaction(maker) as session:
            kinds = sorted((await session.scalars(select(Delivery.kind))).all())
        assert kinds == ["alert", "escalation"]
        # The duty manager's email goes through the same (refusing) mail server: nobody has
        # been told. What says so: the worker's log, the attempts, the unacknowledged report.
        lines = [json.loads(line) for line in log_lines.getvalue().splitlines() if line]
        unsent = [line for line in lines if line["event"] == "escalation_email_not_sent"]
        assert unsent
        assert {line["notification_id"] for line in unsent} == {str(notification_id)}
        metadata = {"event", "level", "logger", "timestamp"}
        assert all(
            set(line) - metadata == {"notification_id", "attempts", "given_up"} for line in unsent
        )
        admin = auth("admin")
        async with client_for(app) as api:
            log = await api.get(f"/v1/notifications/{notification_id}/attempts", headers=admin)
            report = await api.get("/v1/encompass/reports/unacknowledged", headers=admin)
        (escalation,) = [d for d in log.json() if d["kind"] == "escalation"]
        assert (escalation["status"], escalation["delivered_at"]) == ("pending", None)
        assert {a["outcome"] for a in escalation["attempt_log"]} == {"failed"}
        (row,) = [r for r in report.json() if r["school_urn"] == "107301"]
        assert row["escalated"] == 1


class TestTheEscalationRelay:
    """With the alerts' mail server down, the duty manager still hears: the escalation goes
    through the second server (NOTIFICATIONS_ESCALATION_SMTP_*), the alert keeps retrying."""

    async def test_an_escalation_goes_through_the_relay_when_the_mail_server_refuses(
        self,
        committed_db: str,
        maker: Maker,
        nsettings: NotificationsSettings,
        raw_sink: tuple[RawSink, int],
    ) -> None:
        sink, relay_port = raw_sink
        settings = nsettings.model_copy(
            update={
                "smtp_port": free_port(),  # nothing listens: refused
                "escalation_smtp_host": "127.0.0.1",
                "escalation_smtp_port": relay_port,
            }
        )
        deadline = datetime.now(UTC) + timedelta(minutes=30)  # fallback point already passed
        notification_id = await email_only_alert(maker, settings, deadline)
        async with make_client(settings) as client:
            await deliver_due(maker, settings, client, max_batches=3)
        notification, _attempts, escalations = await state(maker, notification_id)
        assert notification.escalated_at is not None
        assert escalations == 1
        async with transaction(maker) as session:
            deliveries = {d.kind: d for d in (await session.scalars(select(Delivery))).all()}
        assert deliveries["escalation"].status == "delivered"
        assert deliveries["alert"].status == "pending"  # the school's email still retrying
        (raw,) = sink.raw  # only the escalation reached the relay
        parsed = message_from_bytes(raw)
        assert parsed["To"] == settings.duty_manager_email
        assert parsed["Date"]
        assert parsed["Message-ID"].endswith("@frontdoor.example>")

    async def test_without_a_relay_only_the_one_server_is_tried(
        self, nsettings: NotificationsSettings, raw_sink: tuple[RawSink, int]
    ) -> None:
        sink, _port = raw_sink
        settings = nsettings.model_copy(update={"smtp_port": free_port()})
        result = await send_email(
            settings, recipients=["dm@council.example"], subject="s", text="t", message_id="m_2"
        )
        assert result.outcome == "failed"
        assert sink.raw == []
