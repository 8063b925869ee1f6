"""Breaches alert somebody: triage's clock events become grouped emails at a real SMTP server.

On committed data (the consumer, the grouping pass and the dispatcher each run their own
transactions), with triage's real clock scanner producing the events.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifications.front_door.handlers import CONSUMER, front_door_consumer
from notifications.front_door.jobs import front_door_alerts
from notifications.front_door.messages import AlertLine, duty_manager_email
from notifications.front_door.service import window_start
from notifications.settings import NotificationsSettings
from notifications.worker import build_worker
from services.auth import Principal, Role
from services.db import transaction
from services.devtools import MailSink
from services.events.consumer import drain
from services.events.contracts import SUBSCRIPTIONS, ClockBreached
from services.events.outbox import emit
from services.models.notifications_extra import CouncilContacts, FrontDoorAlert
from services.models.platform import EventConsumption
from services.settings import get_settings
from tests.notifications.test_delivery import deliver
from tests.triage.conftest import phone_contact
from triage import demo
from triage.clocks.jobs import scan_clocks
from triage.contacts.schemas import ContactCreate
from triage.contacts.service import record_contact
from triage.settings import get_triage_settings

Maker = async_sessionmaker[AsyncSession]
WORKER = Principal(sub="worker-1", role=Role.front_door_worker)
DUTY = "duty.team.manager@bradford.example"
REFERRER = "health.visitor@nhs.example"
# What the phone contact's child is called and identified by (tests.factories.make_marf).
IDENTIFYING = ("Sam", "Example", "9990001006", "BD1 1HY", "Example Street")


async def seed(maker: Maker, duty: str | None = DUTY) -> None:
    async with transaction(maker) as session:
        await demo.seed(session, get_settings())
        if duty is not None:
            session.add(CouncilContacts(council_id="demo", duty_manager_email=duty))


async def overdue_phone_contact(
    maker: Maker, email: str | None = REFERRER
) -> tuple[uuid.UUID, str]:
    """A professional's phone referral three days ago, never followed up in writing."""
    received = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    referrer = {"name": "H. Visitor", "phone": "01274 000000"}
    if email:
        referrer["email"] = email
    body = ContactCreate.model_validate(phone_contact(received_at=received, referrer=referrer))
    async with transaction(maker) as session:
        contact = await record_contact(
            session, principal=WORKER, body=body, settings=get_triage_settings()
        )
        return contact.id, contact.reference


async def scan(maker: Maker) -> None:
    async with transaction(maker) as session:
        await scan_clocks(session, now=datetime.now(UTC), limit=500)


async def gathered(maker: Maker) -> None:
    """The waiting alerts' burst has gathered (as if they arrived two minutes ago)."""
    async with transaction(maker) as session:
        await session.execute(
            update(FrontDoorAlert)
            .where(FrontDoorAlert.batch_id.is_(None))
            .values(created_at=FrontDoorAlert.created_at - timedelta(minutes=2))
        )


async def send(maker: Maker, settings: NotificationsSettings) -> int:
    await gathered(maker)
    return await front_door_alerts(maker, settings)


def later(minutes: float) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


def to(mail: MailSink, address: str) -> list[str]:
    return [m.body for m in mail.snapshot() if address in m.recipients]


@pytest.mark.usefixtures("committed_db")
class TestBreachEmail:
    async def test_a_breach_produces_exactly_one_email_to_the_duty_manager(
        self, maker: Maker, nsettings: NotificationsSettings, mail: MailSink
    ) -> None:
        await seed(maker)
        contact_id, reference = await overdue_phone_contact(maker)
        await scan(maker)
        consumer = front_door_consumer(nsettings)
        assert await drain(maker, [consumer]) >= 3  # several clocks breached, and the chase
        assert await send(maker, nsettings) == 2  # the duty manager, the referrer
        await deliver(maker, nsettings)
        (body,) = to(mail, DUTY)
        assert reference in body
        assert f"http://frontdoor.test/v1/contacts/{contact_id}" in body
        assert "Deadlines missed" in body
        for word in IDENTIFYING:
            assert word not in body
        # Replayed events, later passes, restarts: never a second email.
        async with transaction(maker) as session:
            await session.execute(
                update(EventConsumption)
                .where(EventConsumption.consumer == CONSUMER)
                .values(status="pending")
            )
        await drain(maker, [consumer])
        assert await send(maker, nsettings) == 0
        for minutes in (20, 40):  # later windows have nothing to send either
            assert await front_door_alerts(maker, nsettings, now=later(minutes)) == 0
        await deliver(maker, nsettings)
        assert len(to(mail, DUTY)) == 1

    async def test_an_overdue_written_follow_up_chases_the_referrer_by_email(
        self, maker: Maker, nsettings: NotificationsSettings, mail: MailSink
    ) -> None:
        await seed(maker)
        _, reference = await overdue_phone_contact(maker)
        await scan(maker)
        await drain(maker, [front_door_consumer(nsettings)])
        await send(maker, nsettings)
        await deliver(maker, nsettings)
        (chase,) = to(mail, REFERRER)
        assert reference in chase
        assert "followed up in writing" in chase
        assert "Submit it here: http://frontdoor.test/v1/referrals" in chase
        for word in IDENTIFYING:
            assert word not in chase
        assert reference not in "".join(b for b in to(mail, DUTY) if "phone them" in b)

    async def test_without_a_referrer_email_the_duty_manager_is_asked_to_phone(
        self, maker: Maker, nsettings: NotificationsSettings, mail: MailSink
    ) -> None:
        await seed(maker)
        await overdue_phone_contact(maker, email=None)
        await scan(maker)
        await drain(maker, [front_door_consumer(nsettings)])
        await send(maker, nsettings)
        await deliver(maker, nsettings)
        (body,) = to(mail, DUTY)
        assert "please phone them" in body
        assert len(mail.snapshot()) == 1

    @pytest.mark.parametrize("recorded", ["phone only", "01274 000000", "n/a", "  "])
    async def test_a_referrer_email_mail_cannot_go_to_asks_the_duty_manager_to_phone(
        self, maker: Maker, nsettings: NotificationsSettings, mail: MailSink, recorded: str
    ) -> None:
        await seed(maker)
        _, reference = await overdue_phone_contact(maker, email=recorded)
        await scan(maker)
        await drain(maker, [front_door_consumer(nsettings)])
        await send(maker, nsettings)
        await deliver(maker, nsettings)
        (body,) = to(mail, DUTY)
        assert "please phone them" in body
        assert reference in body
        assert len(mail.snapshot()) == 1

    async def test_without_council_configuration_the_services_duty_manager_is_told(
        self, maker: Maker, nsettings: NotificationsSettings, mail: MailSink
    ) -> None:
        await seed(maker, duty=None)
        await overdue_phone_contact(maker)
        await scan(maker)
        await drain(maker, [front_door_consumer(nsettings)])
        await send(maker, nsettings)
        await deliver(maker, nsettings)
        assert len(to(mail, nsettings.duty_manager_email)) == 1


async def emit_breaches(maker: Maker, count: int, council: str = "demo") -> None:
    deadline = datetime.now(UTC) - timedelta(hours=1)
    async with transaction(maker) as session:
        for n in range(count):
            payload = ClockBreached(
                clock_id=uuid.uuid4(),
                contact_id=uuid.uuid4(),
                kind="decision",
                deadline_at=deadline,
                state="breached",
                council_id=council,
                contact_reference=f"FDC-2026-{n:05d}",
            )
            await emit(session, payload, producer="triage")


@pytest.mark.usefixtures("committed_db")
class TestGrouping:
    async def test_a_burst_of_227_breaches_is_one_email_per_recipient(
        self, maker: Maker, nsettings: NotificationsSettings, mail: MailSink
    ) -> None:
        async with transaction(maker) as session:
            session.add(CouncilContacts(council_id="demo", duty_manager_email=DUTY))
            session.add(
                CouncilContacts(council_id="leeds", duty_manager_email="duty@leeds.example")
            )
        await emit_breaches(maker, 227)
        await emit_breaches(maker, 3, council="leeds")
        assert await drain(maker, [front_door_consumer(nsettings)], limit=10_000) == 230
        assert await send(maker, nsettings) == 2
        await deliver(maker, nsettings)
        (body,) = to(mail, DUTY)
        assert "Deadlines missed (227)" in body
        assert "FDC-2026-00000" in body
        assert "FDC-2026-00226" in body
        assert len(to(mail, "duty@leeds.example")) == 1
        assert len(mail.snapshot()) == 2

    async def test_an_alert_still_gathering_waits_for_the_rest_of_its_burst(
        self, maker: Maker, nsettings: NotificationsSettings, mail: MailSink
    ) -> None:
        await emit_breaches(maker, 2)
        await drain(maker, [front_door_consumer(nsettings)])
        assert await front_door_alerts(maker, nsettings, now=datetime.now(UTC)) == 0
        assert await front_door_alerts(maker, nsettings, now=later(2)) == 1

    async def test_one_email_per_recipient_per_window_the_next_waits_for_the_next_window(
        self, maker: Maker, nsettings: NotificationsSettings, mail: MailSink
    ) -> None:
        window = nsettings.front_door_alert_window_seconds / 60
        start = window_start(later(window), nsettings.front_door_alert_window_seconds)
        await emit_breaches(maker, 1)
        await drain(maker, [front_door_consumer(nsettings)])
        first = start + timedelta(minutes=1)
        assert await front_door_alerts(maker, nsettings, now=first) == 1
        await emit_breaches(maker, 1)  # a new breach in the same window
        await drain(maker, [front_door_consumer(nsettings)])
        assert await front_door_alerts(maker, nsettings, now=first + timedelta(minutes=5)) == 0
        next_window = start + timedelta(minutes=window, seconds=30)
        assert await front_door_alerts(maker, nsettings, now=next_window) == 1
        async with transaction(maker) as session:
            waiting = await session.scalar(
                select(func.count()).where(FrontDoorAlert.batch_id.is_(None))
            )
        assert waiting == 0

    async def test_two_workers_running_the_pass_at_once_send_one_email_per_recipient(
        self, maker: Maker, nsettings: NotificationsSettings, mail: MailSink
    ) -> None:
        async with transaction(maker) as session:
            session.add(CouncilContacts(council_id="demo", duty_manager_email=DUTY))
            session.add(
                CouncilContacts(council_id="leeds", duty_manager_email="duty@leeds.example")
            )
        await emit_breaches(maker, 40)
        await emit_breaches(maker, 5, council="leeds")
        await drain(maker, [front_door_consumer(nsettings)], limit=1_000)
        await gathered(maker)
        now = datetime.now(UTC)
        counts = await asyncio.gather(
            *(front_door_alerts(maker, nsettings, now=now) for _ in range(3))
        )
        assert sum(counts) == 2
        await deliver(maker, nsettings)
        assert len(to(mail, DUTY)) == 1
        assert len(to(mail, "duty@leeds.example")) == 1
        async with transaction(maker) as session:
            waiting = await session.scalar(
                select(func.count()).where(FrontDoorAlert.batch_id.is_(None))
            )
        assert waiting == 0

    def test_the_worker_consumes_what_the_contracts_route_to_it(
        self, nsettings: NotificationsSettings
    ) -> None:
        routed = {t for t, names in SUBSCRIPTIONS.items() if CONSUMER in names}
        assert routed == set(front_door_consumer(nsettings).handlers)
        worker = build_worker(async_sessionmaker(), "postgresql://127.0.0.1/unused")
        assert CONSUMER in [c.name for c in worker.consumers]
        assert "notifications.front_door_alerts" in [p.name for p in worker.periodic]


class TestMessages:
    def test_windows_are_aligned_and_contain_their_instant(self) -> None:
        at = datetime(2026, 12, 1, 10, 7, 31, tzinfo=UTC)
        assert window_start(at, 900) == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
        assert window_start(at, 60) == datetime(2026, 12, 1, 10, 7, tzinfo=UTC)

    def test_the_email_names_contacts_by_reference_in_local_time(self) -> None:
        cid = uuid.uuid4()
        line = AlertLine(
            kind="due_soon",
            clock_kind="decision",
            contact_id=cid,
            contact_reference="FDC-2026-00042",
            deadline_at=datetime(2026, 6, 15, 15, 0, tzinfo=UTC),
        )
        subject, text = duty_manager_email(
            [line], zone="Europe/London", link=lambda c: f"https://fd.example/{c}"
        )
        assert subject == "Front door: 1 due soon"
        assert (
            "FDC-2026-00042: front-door decision (one working day), due Mon 15 Jun 2026 16:00"
            in text
        )
        assert f"https://fd.example/{cid}" in text


class TestReferrerEmail:
    def test_found_on_a_phone_contact_a_marf_or_a_phone_contact_joined_by_a_marf(self) -> None:
        from triage.clocks.jobs import referrer_email

        phone = {"source": "front_door", "contact": {"referrer": {"email": "hv@nhs.example"}}}
        marf = {"source": "marf", "marf": {"referrer": {"email": "dsl@school.example"}}}
        joined = {"source": "phone_then_marf", "phone": phone, "marf": marf["marf"]}
        assert referrer_email(phone) == "hv@nhs.example"
        assert referrer_email(marf) == "dsl@school.example"
        assert referrer_email(joined) == "hv@nhs.example"
        assert referrer_email({"source": "front_door", "contact": {"referrer": {}}}) is None
