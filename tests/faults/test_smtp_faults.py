"""The mail server refusing connections: email retried, the duty manager told before the
deadline, and the mail sent (with a `Date:`) once a server listens on the port again."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from notifications.delivery import watch
from notifications.settings import NotificationsSettings
from services.db import transaction
from services.models.notifications import Attempt, Delivery, Notification
from services.models.platform import OutboxEvent
from tests.e2e.conftest import free_port
from tests.faults.schools import Maker, SchoolReceiver, add_school, alert, dispatching, serving

URN = "300001"
DEADLINE_SECONDS = 10.0
# Bounds, never expectations.
WAIT_SECONDS = 60.0


def settings_for(smtp_port: int) -> NotificationsSettings:
    """The night compressed as in test_delivery_faults: deadline 10 s away, email fallback
    4 s before it, escalation 1.5 s before, retries after 0.2 s then every 0.5 s."""
    return NotificationsSettings(
        smtp_port=smtp_port,
        retry_schedule=(0, 0.2, 0.5),
        retry_repeat_seconds=0.5,
        retry_jitter=0,
        attempt_timeout_seconds=2.0,
        fallback_lead_seconds=4.0,
        escalation_lead_seconds=1.5,
        failure_disable_window_seconds=3600,
        public_base_url="http://frontdoor.test",
    )


class RawSink:
    """aiosmtpd handler keeping each message as sent (headers and all)."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        with self.lock:
            return [m for m in self.messages if address in str(m["To"])]


async def email_attempts(maker: Maker, notification_id: uuid.UUID) -> list[tuple[str, Attempt]]:
    """(delivery kind, attempt) of every email the alert caused: its own and the escalation."""
    async with transaction(maker) as session:
        found = await session.execute(
            select(Delivery.kind, Attempt)
            .join(Attempt, Attempt.delivery_id == Delivery.id)
            .where(Delivery.notification_id == notification_id, Delivery.channel == "email")
            .order_by(Attempt.id)
        )
        return [(kind, attempt) for kind, attempt in found.all()]


async def notification(maker: Maker, notification_id: uuid.UUID) -> Notification:
    async with transaction(maker) as session:
        return await session.get_one(Notification, notification_id)


class TestARefusingMailServer:
    async def test_email_is_retried_then_escalated_and_sent_with_a_date_once_it_listens(
        self, maker: Maker, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # The deadline watch's grace before an immediate fallback (30 s), scaled like the night.
        monkeypatch.setattr(watch, "_FIRST_ATTEMPT_GRACE", timedelta(seconds=0.5))
        smtp_port = free_port()  # nothing listens there: every connection is refused
        settings = settings_for(smtp_port)
        dsl = f"dsl{URN}@school.example"
        with serving(SchoolReceiver("500")) as school:
            await add_school(maker, settings, URN, school.url())
            async with dispatching(maker, settings) as worker:
                alert_id = await alert(
                    maker, settings, URN, "WYP/SMTP/1", deadline_in=DEADLINE_SECONDS
                )

                async def escalated_and_retried() -> bool:
                    tries = [
                        a for k, a in await email_attempts(maker, alert_id) if k != "escalation"
                    ]
                    done = [a for a in tries if a.outcome != "sending"]
                    flagged = (await notification(maker, alert_id)).escalated_at is not None
                    return flagged and len(done) >= 3

                await worker.until(
                    escalated_and_retried, what="emails retried, escalation", timeout=WAIT_SECONDS
                )
                refused = await notification(maker, alert_id)
                attempts = [
                    (k, a)
                    for k, a in await email_attempts(maker, alert_id)
                    if a.outcome != "sending"
                ]
                # The mail server is brought back on the same port.
                sink = RawSink()
                controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
                controller.start()
                try:

                    async def mailed() -> bool:
                        # Received, and the worker has recorded it (the server answers before
                        # the worker commits the delivery).
                        received = sink.to(dsl) and sink.to(settings.duty_manager_email)
                        recorded = (await notification(maker, alert_id)).delivered_at
                        return bool(received) and recorded is not None

                    await worker.until(
                        mailed, what="the mail once it listens", timeout=WAIT_SECONDS
                    )
                    after = await notification(maker, alert_id)
                finally:
                    controller.stop()
            webhook_tries = len(school.seen())

        # The school's webhook failed first (500, retried), so the alert fell back to email.
        assert webhook_tries >= 2
        # Every email attempt while nothing listened failed with the refusal, and was retried.
        alert_tries = [a for k, a in attempts if k in ("alert", "fallback")]
        assert len(alert_tries) >= 3
        assert {a.outcome for _, a in attempts} == {"failed"}
        assert {a.error for _, a in attempts} == {"SMTPConnectError"}
        # Nothing reached the school by either channel: the duty manager was told, before the
        # deadline, once.
        assert refused.delivered_at is None
        assert refused.escalated_at is not None
        assert refused.deadline_at is not None
        assert refused.escalated_at < refused.deadline_at
        async with transaction(maker) as session:
            escalations = await session.scalar(
                select(func.count())
                .select_from(OutboxEvent)
                .where(OutboxEvent.topic == "encompass.escalated")
            )
        assert escalations == 1
        # Once a server listens, the next tries go through: the alert is delivered by email,
        # and each message carries a Date: (RFC 5322) of when it was sent.
        assert after.delivered_at is not None
        for message in [*sink.to(dsl), *sink.to(settings.duty_manager_email)]:
            assert message["Date"], message
            sent = parsedate_to_datetime(message["Date"])
            assert abs((datetime.now(UTC) - sent).total_seconds()) < WAIT_SECONDS
            assert str(message["Message-ID"]).endswith("@frontdoor.example>")
