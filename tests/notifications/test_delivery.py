"""Delivery end to end on real PostgreSQL, a real HTTP receiver and a real SMTP server."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks.webhooks import Webhook

from notifications.delivery.dispatch import deliver_due
from notifications.delivery.jobs import watch_deadlines
from notifications.delivery.transport import make_client
from notifications.intake.handlers import intake_consumer
from notifications.intake.schemas import IncidentIn
from notifications.intake.service import IntakeContext, ingest_one
from notifications.settings import NotificationsSettings
from services.db import transaction
from services.devtools import MailSink
from services.events.consumer import drain
from services.events.contracts import EncompassChild, EncompassRequested
from services.events.outbox import emit
from services.models.notifications import Attempt, Delivery, Endpoint, Notification, School
from services.models.platform import OutboxEvent
from tests.notifications.conftest import SECRET, Receiver, create_endpoint, create_school, incident

Maker = async_sessionmaker[AsyncSession]
FORCE = "west-yorkshire-police"
IDENTIFYING = ("Amira", "Testchild", "2017-03-04", "Bradford South", "I hid upstairs")


async def setup_school(
    maker: Maker, settings: NotificationsSettings, url: str | None, **school: object
) -> tuple[str, uuid.UUID | None]:
    async with transaction(maker) as session:
        created = await create_school(session, urn="107301", **school)
        endpoint = await create_endpoint(session, settings, created, url) if url else None
        return created.urn, endpoint.id if endpoint else None


async def submit(
    maker: Maker, settings: NotificationsSettings, reference: str = "WY-1"
) -> uuid.UUID:
    async with transaction(maker) as session:
        ctx = IntakeContext(
            session=session,
            settings=settings,
            council_id="demo",
            force_id=FORCE,
            actor=None,
            source="batch",
        )
        result = await ingest_one(ctx, IncidentIn.model_validate(incident(reference)))
        return result.children[0].notification_id


async def deliver(maker: Maker, settings: NotificationsSettings, batches: int = 50) -> int:
    async with make_client(settings) as client:
        return await deliver_due(maker, settings, client, max_batches=batches)


async def rows(maker: Maker, model: type, *where: object) -> list:  # type: ignore[type-arg]
    async with transaction(maker) as session:
        return list((await session.scalars(select(model).where(*where))).all())  # type: ignore[arg-type]


class TestWebhookDelivery:
    async def test_real_delivery_verifies_with_standardwebhooks_and_keeps_its_id_on_retry(
        self,
        committed_db: str,
        maker: Maker,
        nsettings: NotificationsSettings,
        receiver: Receiver,
        mail: MailSink,
    ) -> None:
        await setup_school(maker, nsettings, receiver.url())
        receiver.script = [(500, {})]
        notification_id = await submit(maker, nsettings)
        assert await deliver(maker, nsettings) >= 2  # the failed try, then the retry
        await deliver(maker, nsettings)
        first, second = receiver.received
        assert first.headers["webhook-id"] == second.headers["webhook-id"]
        payload = Webhook(SECRET).verify(second.body, second.headers)
        assert payload["type"] == "encompass.notification.created"
        assert payload["data"]["notification_id"] == str(notification_id)
        assert payload["data"]["school_urn"] == "107301"
        assert len(second.body) < 2048
        assert not any(word in second.body.decode() for word in IDENTIFYING)
        attempts = await rows(maker, Attempt)
        assert sorted(a.status_code for a in attempts if a.status_code != 250) == [200, 500]
        notification = (await rows(maker, Notification))[0]
        assert notification.delivered_at is not None
        # "both": the DSL and deputy get the email too, with nothing identifying.
        (message,) = mail.snapshot()
        assert message.recipients == ["dsl@school.example", "deputy@school.example"]
        assert str(notification_id) in message.body
        assert not any(word in message.body for word in IDENTIFYING)
        delivered = await rows(
            maker, OutboxEvent, OutboxEvent.topic == "encompass.notification.delivered"
        )
        assert len(delivered) == 1

    async def test_redirects_are_failures_and_never_followed(
        self, committed_db: str, maker: Maker, nsettings: NotificationsSettings, receiver: Receiver
    ) -> None:
        await setup_school(maker, nsettings, receiver.url(), delivery_preference="webhook")
        receiver.script = [(302, {"location": receiver.url("/elsewhere")})]
        await submit(maker, nsettings)
        async with make_client(nsettings) as client:
            from notifications.delivery import dispatch

            async with transaction(maker) as session:
                batch = await dispatch.claim(session, nsettings, 10)
            result = await dispatch.send(batch[0], client, nsettings)
        assert (result.outcome, result.status_code) == ("failed", 302)
        assert [r.path for r in receiver.received] == ["/hook"]

    async def test_gone_disables_the_endpoint_alerts_and_falls_back_to_email(
        self,
        committed_db: str,
        maker: Maker,
        nsettings: NotificationsSettings,
        receiver: Receiver,
        mail: MailSink,
    ) -> None:
        await setup_school(maker, nsettings, receiver.url(), delivery_preference="webhook")
        receiver.script = [(410, {})]
        await submit(maker, nsettings)
        await deliver(maker, nsettings)
        await deliver(maker, nsettings)
        (endpoint,) = await rows(maker, Endpoint)
        assert endpoint.enabled is False
        assert endpoint.disabled_reason is not None
        assert "410" in endpoint.disabled_reason
        (school,) = await rows(maker, School)
        assert school.delivery_preference == "email"
        events = await rows(maker, OutboxEvent, OutboxEvent.topic == "encompass.endpoint_disabled")
        assert len(events) == 1
        recipients = sorted(r for m in mail.snapshot() for r in m.recipients)
        assert "frontdoor.admin@council.example" in recipients
        assert "dsl@school.example" in recipients

    async def test_retry_after_on_503_is_honoured(
        self, committed_db: str, maker: Maker, nsettings: NotificationsSettings, receiver: Receiver
    ) -> None:
        await setup_school(maker, nsettings, receiver.url(), delivery_preference="webhook")
        receiver.script = [(503, {"retry-after": "120"})]
        await submit(maker, nsettings)
        before = datetime.now(UTC)
        await deliver(maker, nsettings)
        (delivery,) = await rows(maker, Delivery, Delivery.channel == "webhook")
        assert delivery.status == "pending"
        assert delivery.next_attempt_at is not None
        assert delivery.next_attempt_at >= before + timedelta(seconds=119)
        assert len(receiver.received) == 1

    async def test_consecutive_failures_over_the_window_disable_and_switch_to_email(
        self,
        committed_db: str,
        maker: Maker,
        nsettings: NotificationsSettings,
        receiver: Receiver,
    ) -> None:
        settings = nsettings.model_copy(
            update={"failure_disable_min_failures": 3, "failure_disable_window_seconds": 0}
        )
        await setup_school(maker, settings, receiver.url(), delivery_preference="webhook")
        receiver.default = 500
        await submit(maker, settings)
        for _ in range(3):
            await deliver(maker, settings)
        (endpoint,) = await rows(maker, Endpoint)
        assert (endpoint.enabled, endpoint.disabled_reason) == (
            False,
            "consecutive delivery failures",
        )
        (school,) = await rows(maker, School)
        assert school.delivery_preference == "email"
        fallback = await rows(maker, Delivery, Delivery.kind == "fallback")
        assert len(fallback) == 1

    async def test_ssrf_is_checked_again_at_every_attempt(
        self, committed_db: str, maker: Maker, nsettings: NotificationsSettings, receiver: Receiver
    ) -> None:
        await setup_school(maker, nsettings, receiver.url(), delivery_preference="webhook")
        await submit(maker, nsettings)
        production_like = nsettings.model_copy(update={"environment": "production"})
        await deliver(maker, production_like, batches=1)
        (attempt,) = await rows(maker, Attempt)
        assert attempt.outcome == "refused"
        assert attempt.error is not None
        assert "https" in attempt.error
        assert receiver.received == []


class TestDeadlineWatch:
    async def _due_soon(self, maker: Maker, minutes: int, **values: object) -> None:
        async with transaction(maker) as session:
            await session.execute(
                update(Notification).values(
                    deadline_at=datetime.now(UTC) + timedelta(minutes=minutes),
                    created_at=datetime.now(UTC) - timedelta(hours=1),
                    **values,
                )
            )

    async def test_unacknowledged_webhook_falls_back_to_email_before_the_deadline(
        self,
        committed_db: str,
        maker: Maker,
        nsettings: NotificationsSettings,
        receiver: Receiver,
        mail: MailSink,
    ) -> None:
        await setup_school(maker, nsettings, receiver.url(), delivery_preference="webhook")
        receiver.default = 500
        await submit(maker, nsettings)
        await deliver(maker, nsettings)
        await self._due_soon(maker, 50)  # inside the 60 min fallback lead
        assert await watch_deadlines(maker, nsettings) >= 1
        await deliver(maker, nsettings)
        assert [m.recipients[0] for m in mail.snapshot()] == ["dsl@school.example"]
        (notification,) = await rows(maker, Notification)
        assert notification.fallback_email_at is not None

    async def test_nothing_acknowledged_near_school_start_escalates_once(
        self,
        committed_db: str,
        maker: Maker,
        nsettings: NotificationsSettings,
        receiver: Receiver,
        mail: MailSink,
    ) -> None:
        await setup_school(maker, nsettings, receiver.url())
        await submit(maker, nsettings)
        await deliver(maker, nsettings)
        await self._due_soon(maker, 10)  # inside the 15 min escalation lead
        await watch_deadlines(maker, nsettings)
        await watch_deadlines(maker, nsettings)
        await deliver(maker, nsettings)
        events = await rows(maker, OutboxEvent, OutboxEvent.topic == "encompass.escalated")
        assert len(events) == 1
        escalations = [m for m in mail.snapshot() if "duty.manager@council.example" in m.recipients]
        assert len(escalations) == 1
        assert "Amira" not in escalations[0].body

    async def test_holiday_notifications_come_again_in_a_first_day_back_digest(
        self,
        committed_db: str,
        maker: Maker,
        nsettings: NotificationsSettings,
        mail: MailSink,
    ) -> None:
        await setup_school(
            maker,
            nsettings,
            None,
            delivery_preference="email",
            terms=[
                {"start": "2026-09-03", "end": "2026-11-19"},
                {"start": "2026-11-30", "end": "2026-12-18"},
            ],
        )
        notification_id = await submit(maker, nsettings)
        (notification,) = await rows(maker, Notification)
        assert notification.in_holiday is True
        await deliver(maker, nsettings)  # sent at once, although the school is closed
        await self._due_soon(maker, 30, acknowledged_at=datetime.now(UTC))
        await watch_deadlines(maker, nsettings)
        await deliver(maker, nsettings)
        subjects = [m.subject for m in mail.snapshot()]
        assert len(subjects) == 2
        digest = next(m for m in mail.snapshot() if "holiday" in m.subject)
        assert str(notification_id) in digest.body


class TestIntakeConsumer:
    async def test_triage_dv_event_creates_notifications_once(
        self, committed_db: str, maker: Maker, nsettings: NotificationsSettings
    ) -> None:
        await setup_school(maker, nsettings, None)
        payload = EncompassRequested(
            contact_id=uuid.uuid4(),
            council_id="demo",
            force_id=FORCE,
            police_reference="WY-TRIAGE-1",
            incident_at=datetime(2026, 11, 20, 23, 0, tzinfo=UTC),
            children=[
                EncompassChild(given_name="Amira", family_name="Testchild", school_urn="107301")
            ],
        )
        for _ in range(2):  # the same incident routed twice
            async with transaction(maker) as session:
                await emit(session, payload, producer="triage")
        consumer = intake_consumer(nsettings)
        assert await drain(maker, [consumer]) == 2
        notifications = await rows(maker, Notification)
        assert len(notifications) == 1
        assert notifications[0].school_urn == "107301"

    async def test_an_unusable_child_does_not_drop_its_siblings(
        self, committed_db: str, maker: Maker, nsettings: NotificationsSettings
    ) -> None:
        payload = EncompassRequested(
            contact_id=uuid.uuid4(),
            council_id="demo",
            force_id=FORCE,
            police_reference="WY TRIAGE 2",
            incident_at=datetime(2026, 11, 20, 23, 0, tzinfo=UTC),
            children=[
                EncompassChild(given_name="", family_name="Blank"),
                EncompassChild(
                    given_name="Sami",
                    family_name="Testchild",
                    education_status="Elective Home Education",
                ),
            ],
        )
        async with transaction(maker) as session:
            await emit(session, payload, producer="triage")
        await drain(maker, [intake_consumer(nsettings)])
        (notification,) = await rows(maker, Notification)
        assert (notification.route, notification.education_status) == ("ehe", "ehe")


class TestWorker:
    async def test_one_tick_consumes_the_triage_event_and_delivers_the_webhook(
        self,
        committed_db: str,
        maker: Maker,
        nsettings: NotificationsSettings,
        receiver: Receiver,
    ) -> None:
        from notifications.worker import build_worker

        await setup_school(maker, nsettings, receiver.url(), delivery_preference="webhook")
        payload = EncompassRequested(
            contact_id=uuid.uuid4(),
            council_id="demo",
            force_id=FORCE,
            police_reference="WY-TICK-1",
            incident_at=datetime.now(UTC) - timedelta(hours=2),
            children=[EncompassChild(given_name="A", family_name="B", school_urn="107301")],
        )
        async with transaction(maker) as session:
            await emit(session, payload, producer="triage")
        worker = build_worker(maker, committed_db)
        for _ in range(200):  # a tick starts the send and returns; the send finishes on its own
            await worker.tick()
            if receiver.received:
                break
            await asyncio.sleep(0.02)
        for closer in worker.on_stop:
            await closer()
        (received,) = receiver.received
        assert Webhook(SECRET).verify(received.body, received.headers)["data"]["school_urn"] == (
            "107301"
        )


class TestQueue:
    async def test_two_workers_side_by_side_send_each_alert_once(
        self, committed_db: str, maker: Maker, nsettings: NotificationsSettings, receiver: Receiver
    ) -> None:
        await setup_school(maker, nsettings, receiver.url(), delivery_preference="webhook")
        for i in range(30):
            await submit(maker, nsettings, reference=f"WY-PAR-{i}")
        settings = nsettings.model_copy(update={"delivery_batch_size": 5})
        async with make_client(settings) as one, make_client(settings) as two:
            await asyncio.gather(
                deliver_due(maker, settings, one), deliver_due(maker, settings, two)
            )
        ids = [r.headers["webhook-id"] for r in receiver.received]
        assert len(ids) == 30
        assert len(set(ids)) == 30

    async def test_a_crashed_workers_lease_expires_and_the_same_message_is_sent(
        self, committed_db: str, maker: Maker, nsettings: NotificationsSettings, receiver: Receiver
    ) -> None:
        from notifications.delivery import dispatch

        await setup_school(maker, nsettings, receiver.url(), delivery_preference="webhook")
        await submit(maker, nsettings)
        async with transaction(maker) as session:
            (leased,) = await dispatch.claim(session, nsettings, 10)
        assert await deliver(maker, nsettings) == 0  # leased: nobody else takes it
        async with transaction(maker) as session:  # the lease runs out
            await session.execute(
                update(Delivery).values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
            )
        assert await deliver(maker, nsettings) == 1
        assert receiver.received[0].headers["webhook-id"] == leased.message_id


class TestPinnedAddress:
    def test_https_keeps_the_host_header_and_tls_name_of_the_url(self) -> None:
        import ipaddress

        from notifications.delivery.transport import pinned

        target, host, extensions = pinned(
            "https://hooks.school.example:8443/encompass", ipaddress.ip_address("93.184.216.34")
        )
        assert str(target) == "https://93.184.216.34:8443/encompass"
        assert host == {"host": "hooks.school.example:8443"}
        assert extensions == {"sni_hostname": "hooks.school.example"}

    async def test_a_named_host_is_sent_to_the_address_that_was_checked(
        self, committed_db: str, maker: Maker, nsettings: NotificationsSettings, receiver: Receiver
    ) -> None:
        url = f"http://localhost:{receiver.port}/hook"
        await setup_school(maker, nsettings, url, delivery_preference="webhook")
        await submit(maker, nsettings)
        await deliver(maker, nsettings)
        (received,) = receiver.received
        assert received.headers["host"] == f"localhost:{receiver.port}"
        assert Webhook(SECRET).verify(received.body, received.headers)
