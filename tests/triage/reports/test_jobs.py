"""The scheduled reports on committed data: sent when due to a real local SMTP server
(aiosmtpd), each slot at most once, a missed one caught up once, nothing identifying."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.utils import parsedate_to_datetime

import pytest
import structlog
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.auth import Principal, Role
from services.db import transaction
from services.devtools import MailSink, start_mail_sink
from services.models.platform import AuditEntry, CouncilCalendar
from services.models.triage_reports import TriageReportSend
from services.settings import get_settings
from tests.triage.conftest import phone_contact
from triage import demo
from triage.contacts.schemas import ContactCreate
from triage.contacts.service import record_contact
from triage.demo import BRADFORD_OFFICE_HOURS
from triage.reports.jobs import NO_RECIPIENTS, report_job, run_due_reports
from triage.settings import TriageSettings, get_triage_settings
from triage.worker import build_worker

Maker = async_sessionmaker[AsyncSession]
WORKER = Principal(sub="worker-1", role=Role.front_door_worker)
MONDAY_0905 = datetime(2026, 12, 7, 9, 5, tzinfo=UTC)  # London is on GMT in December
TUESDAY_0905 = datetime(2026, 12, 8, 9, 5, tzinfo=UTC)
MANAGERS = ("tm.one@council.example", "head.of.service@council.example")


class _SlowSink:
    """Accepts each message, but replies only after the client's timeout."""

    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.received += 1
        await asyncio.sleep(1)
        return "250 Message accepted for delivery"


class _RawSink:
    """Keeps each message as the server received it, headers and all."""

    def __init__(self) -> None:
        self.raw: list[bytes] = []

    async def handle_DATA(self, server: object, session: object, envelope: Envelope) -> str:
        content = envelope.content
        self.raw.append(content if isinstance(content, bytes) else (content or "").encode())
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[MailSink, int]]:
    port = free_port()
    sink, controller = start_mail_sink("127.0.0.1", port)
    yield sink, port
    controller.stop()


@pytest.fixture
def mail(smtp: tuple[MailSink, int]) -> MailSink:
    smtp[0].messages.clear()
    return smtp[0]


def settings_for(port: int, **overrides: object) -> TriageSettings:
    return TriageSettings(
        smtp_port=port,
        report_recipients=MANAGERS,
        public_base_url="http://frontdoor.test",
        **overrides,  # type: ignore[arg-type]
    )


@pytest.fixture
def rsettings(smtp: tuple[MailSink, int]) -> TriageSettings:
    return settings_for(smtp[1])


async def seed_with_a_contact(maker: Maker) -> str:
    async with transaction(maker) as session:
        await demo.seed(session, get_settings())
        body = ContactCreate.model_validate(phone_contact())
        contact = await record_contact(
            session, principal=WORKER, body=body, settings=get_triage_settings()
        )
        return contact.reference


async def add_council(maker: Maker, council_id: str, settings: dict[str, object]) -> None:
    async with transaction(maker) as session:
        session.add(
            CouncilCalendar(
                council_id=council_id,
                name=f"{council_id} council",
                timezone="Europe/London",
                office_hours=BRADFORD_OFFICE_HOURS,
                working_day_rule="same_time",
                settings=settings,
            )
        )


async def sends(maker: Maker) -> list[tuple[str, str, int]]:
    async with transaction(maker) as session:
        rows = (await session.scalars(select(TriageReportSend))).all()
        return sorted((r.report, r.status, r.attempts) for r in rows)


@pytest.mark.usefixtures("committed_db")
class TestScheduledReports:
    async def test_due_reports_are_sent_once(
        self, maker: Maker, mail: MailSink, rsettings: TriageSettings
    ) -> None:
        await seed_with_a_contact(maker)
        assert await run_due_reports(maker, settings=rsettings, now=MONDAY_0905) == 2
        assert (
            await run_due_reports(maker, settings=rsettings, now=MONDAY_0905 + timedelta(minutes=1))
            == 0
        )
        subjects = sorted(m.subject for m in mail.messages)
        assert subjects[0].startswith("Front door in progress: 1 open, 0 breached")
        assert subjects[1].startswith("Front door unallocated over 7 days: 0")
        assert all(sorted(m.recipients) == sorted(MANAGERS) for m in mail.messages)
        assert await sends(maker) == [("in_progress", "sent", 1), ("unallocated", "sent", 1)]

    async def test_the_summary_names_nobody(
        self, maker: Maker, mail: MailSink, rsettings: TriageSettings
    ) -> None:
        reference = await seed_with_a_contact(maker)
        await run_due_reports(maker, settings=rsettings, now=TUESDAY_0905)
        body = next(m.body for m in mail.messages if "in progress" in m.subject)
        assert reference in body
        # The console's pages a manager opens signed in, not the API.
        assert "http://frontdoor.test/contacts/" in body
        assert "Full report: http://frontdoor.test/reports\r\n" in body
        assert "/v1/" not in body
        for identifying in ("Sam", "Example", "9990001006", "BD1", "H. Visitor", "worker-1"):
            assert identifying not in body

    async def test_two_workers_at_once_send_each_slot_once(
        self, maker: Maker, mail: MailSink, rsettings: TriageSettings
    ) -> None:
        await seed_with_a_contact(maker)
        results = await asyncio.gather(
            *(run_due_reports(maker, settings=rsettings, now=MONDAY_0905) for _ in range(4))
        )
        assert sum(results) == 2
        assert len(mail.messages) == 2

    async def test_missed_slots_are_caught_up_once(
        self, maker: Maker, mail: MailSink, smtp: tuple[MailSink, int]
    ) -> None:
        await seed_with_a_contact(maker)
        only_in_progress = settings_for(smtp[1], report_unallocated_weekly="FRI 09:00")
        # The worker was down through Tuesday's 09:00 and 14:00: it sends one, the later.
        late = datetime(2026, 12, 8, 15, 0, tzinfo=UTC)
        assert await run_due_reports(maker, settings=only_in_progress, now=late) == 1
        later = late + timedelta(hours=1)
        assert await run_due_reports(maker, settings=only_in_progress, now=later) == 0
        async with transaction(maker) as session:
            slots = (await session.scalars(select(TriageReportSend.slot_at))).all()
        assert slots == [datetime(2026, 12, 8, 14, 0, tzinfo=UTC)]
        assert len(mail.messages) == 1

    async def test_a_refused_send_is_retried_and_then_sent_once(
        self, maker: Maker, mail: MailSink, rsettings: TriageSettings
    ) -> None:
        await seed_with_a_contact(maker)
        nobody_listening = settings_for(free_port())
        assert await run_due_reports(maker, settings=nobody_listening, now=TUESDAY_0905) == 0
        assert await sends(maker) == [("in_progress", "failed", 1), ("unallocated", "failed", 1)]
        assert (
            await run_due_reports(
                maker, settings=rsettings, now=TUESDAY_0905 + timedelta(minutes=1)
            )
            == 2
        )
        assert await sends(maker) == [("in_progress", "sent", 2), ("unallocated", "sent", 2)]
        assert len(mail.messages) == 2

    async def test_every_report_has_a_date_and_a_message_id_of_the_senders_domain(
        self, maker: Maker, mail: MailSink
    ) -> None:
        await seed_with_a_contact(maker)
        raw, port = _RawSink(), free_port()
        controller = Controller(raw, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            settings = settings_for(port, mail_from="Front Door <reports@council.example>")
            before = datetime.now(UTC).replace(microsecond=0)
            assert await run_due_reports(maker, settings=settings, now=TUESDAY_0905) == 2
            after = datetime.now(UTC)
        finally:
            controller.stop()
        parsed = [message_from_bytes(m) for m in raw.raw]
        assert len(parsed) == 2
        for message in parsed:
            assert message["Date"] is not None  # RFC 5322 §3.6
            assert before <= parsedate_to_datetime(message["Date"]) <= after  # the send's time
            assert str(message["Message-ID"]).endswith("@council.example>")
        ids = sorted(str(m["Message-ID"]) for m in parsed)
        # Named after the report and its slot (the weekly one's is Monday's): a retry of a
        # slot carries the same id, so a mail system can tell a repeat from a new report.
        assert ids == [
            "<report-in_progress-demo-20261208T0900Z@council.example>",
            "<report-unallocated-demo-20261207T0900Z@council.example>",
        ]

    async def test_a_send_interrupted_mid_way_is_never_repeated(
        self, maker: Maker, mail: MailSink, rsettings: TriageSettings
    ) -> None:
        await seed_with_a_contact(maker)
        await run_due_reports(maker, settings=rsettings, now=TUESDAY_0905)
        async with transaction(maker) as session:
            for row in (await session.scalars(select(TriageReportSend))).all():
                row.status = "sending"  # as a worker that died after claiming leaves it
        mail.messages.clear()
        assert (
            await run_due_reports(
                maker, settings=rsettings, now=TUESDAY_0905 + timedelta(minutes=5)
            )
            == 0
        )
        assert len(mail.messages) == 0

    async def test_a_send_whose_reply_never_came_is_not_retried(
        self, maker: Maker, mail: MailSink, rsettings: TriageSettings
    ) -> None:
        # The server takes the message but answers after the client has given up: the email
        # may well have gone, so retrying it would send it twice.
        await seed_with_a_contact(maker)
        slow = _SlowSink()
        port = free_port()
        controller = Controller(slow, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            impatient = settings_for(
                port, smtp_timeout_seconds=0.3, report_unallocated_weekly="FRI 09:00"
            )
            assert await run_due_reports(maker, settings=impatient, now=TUESDAY_0905) == 0
            await asyncio.sleep(1.2)  # the server finishes taking the message
            assert slow.received == 1
            assert await sends(maker) == [("in_progress", "unconfirmed", 1)]
            again = TUESDAY_0905 + timedelta(minutes=1)
            assert await run_due_reports(maker, settings=impatient, now=again) == 0
            await asyncio.sleep(1.2)
            assert slow.received == 1
        finally:
            controller.stop()

    async def test_council_recipients_and_every_scheduled_read_audited(
        self, maker: Maker, mail: MailSink, rsettings: TriageSettings
    ) -> None:
        await seed_with_a_contact(maker)
        async with transaction(maker) as session:
            row = await session.get(CouncilCalendar, "demo")
            assert row is not None
            row.settings = {**row.settings, "report_recipients": ["mash.manager@council.example"]}
        await run_due_reports(maker, settings=rsettings, now=MONDAY_0905)
        assert {tuple(m.recipients) for m in mail.messages} == {("mash.manager@council.example",)}
        async with transaction(maker) as session:
            audited = await session.scalar(
                select(func.count()).where(AuditEntry.action.like("report.scheduled.%"))
            )
        assert audited == 2

    async def test_no_recipients_sends_nothing(
        self, maker: Maker, mail: MailSink, smtp: tuple[MailSink, int]
    ) -> None:
        await seed_with_a_contact(maker)
        lonely = TriageSettings(smtp_port=smtp[1], report_recipients=())
        assert await run_due_reports(maker, settings=lonely, now=TUESDAY_0905) == 0
        assert len(mail.messages) == 0
        # Recorded once as skipped, not retried on later ticks (nor read and audited again).
        for minutes in (1, 2, 3):
            later = TUESDAY_0905 + timedelta(minutes=minutes)
            assert await run_due_reports(maker, settings=lonely, now=later) == 0
        assert await sends(maker) == [("in_progress", "skipped", 1), ("unallocated", "skipped", 1)]
        async with transaction(maker) as session:
            audited = await session.scalar(
                select(func.count()).where(AuditEntry.action.like("report.scheduled.%"))
            )
        assert audited == 0

    async def test_one_council_uses_the_global_recipients(
        self, maker: Maker, mail: MailSink, rsettings: TriageSettings
    ) -> None:
        await seed_with_a_contact(maker)
        assert await run_due_reports(maker, settings=rsettings, now=TUESDAY_0905) == 2
        assert all(sorted(m.recipients) == sorted(MANAGERS) for m in mail.messages)

    async def test_with_several_councils_the_global_recipients_are_never_used(
        self, maker: Maker, mail: MailSink, rsettings: TriageSettings
    ) -> None:
        # One council's references must never go to another's managers: the global list
        # belongs to no council once there are two.
        reference = await seed_with_a_contact(maker)
        await add_council(maker, "leeds", {"report_recipients": ["leeds.tm@council.example"]})
        assert await run_due_reports(maker, settings=rsettings, now=TUESDAY_0905) == 2
        assert {tuple(m.recipients) for m in mail.messages} == {("leeds.tm@council.example",)}
        assert all(reference not in m.body for m in mail.messages)
        async with transaction(maker) as session:
            rows = (await session.scalars(select(TriageReportSend))).all()
            by_council = sorted((r.council_id, r.report, r.status, r.last_error) for r in rows)
        assert by_council == [
            ("demo", "in_progress", "skipped", NO_RECIPIENTS),
            ("demo", "unallocated", "skipped", NO_RECIPIENTS),
            ("leeds", "in_progress", "sent", None),
            ("leeds", "unallocated", "sent", None),
        ]
        assert NO_RECIPIENTS == "no recipients configured for the council"

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            # Addresses that are not addresses (a line break would reach the headers) are
            # dropped; the council's good ones are used.
            (
                ["tm@council.example\r\nBcc: someone@else.example", 7, "", "ok@council.example"],
                ("ok@council.example",),
            ),
            # Not a list at all: ignored, so the one council falls back to the global list.
            ("tm@council.example", tuple(sorted(MANAGERS))),
            ({"to": "tm@council.example"}, tuple(sorted(MANAGERS))),
        ],
    )
    async def test_malformed_council_recipients_are_ignored_with_a_warning(
        self,
        maker: Maker,
        mail: MailSink,
        rsettings: TriageSettings,
        raw: object,
        expected: tuple[str, ...],
    ) -> None:
        await seed_with_a_contact(maker)
        async with transaction(maker) as session:
            row = await session.get(CouncilCalendar, "demo")
            assert row is not None
            row.settings = {**row.settings, "report_recipients": raw}
        with structlog.testing.capture_logs() as logs:
            assert await run_due_reports(maker, settings=rsettings, now=TUESDAY_0905) == 2
        assert {tuple(sorted(m.recipients)) for m in mail.messages} == {expected}
        warned = [e for e in logs if e["event"] == "council_setting_ignored"]
        assert warned
        assert all(e["setting"] == "report_recipients" for e in warned)
        assert all("council.example" not in str(e) for e in warned)  # the setting, not values

    async def test_past_the_retry_limit_the_slot_is_given_up(
        self, maker: Maker, mail: MailSink
    ) -> None:
        await seed_with_a_contact(maker)
        refused = settings_for(free_port(), report_max_attempts=2)
        for minutes in range(4):
            later = TUESDAY_0905 + timedelta(minutes=minutes)
            assert await run_due_reports(maker, settings=refused, now=later) == 0
        # Two refusals, then given up (not left `sending`), and never claimed again.
        assert await sends(maker) == [
            ("in_progress", "given_up", 3),
            ("unallocated", "given_up", 3),
        ]
        assert len(mail.messages) == 0

    async def test_the_running_worker_has_the_job_on_a_controllable_clock(
        self, maker: Maker, mail: MailSink, rsettings: TriageSettings, database_url: str
    ) -> None:
        await seed_with_a_contact(maker)
        worker = build_worker(maker, database_url)
        assert "triage.scheduled_reports" in [p.name for p in worker.periodic]
        job = report_job(rsettings, clock=lambda: TUESDAY_0905)
        assert await job(maker) == 2
        assert await job(maker) == 0
