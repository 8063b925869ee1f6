"""Webhook delivery under faults: a worker killed mid-send, and receivers that misbehave."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifications.delivery import watch
from notifications.delivery.dispatch import Dispatcher
from notifications.delivery.jobs import watch_deadlines
from notifications.delivery.secretbox import encrypt
from notifications.delivery.transport import make_client
from notifications.intake.schemas import IncidentIn
from notifications.intake.service import IntakeContext, ingest_one
from notifications.settings import NotificationsSettings
from services.auth import Role
from services.db import create_engine, transaction
from services.devtools import start_mail_sink
from services.models.notifications import Delivery, Endpoint, Notification, School
from tests.e2e.conftest import Processes, eventually, free_port
from tests.faults.conftest import Cluster, killed, start_api
from tests.faults.load import bearer, scalar

ADMIN = bearer(Role.admin)
POLICE_FEED = bearer(Role.police_feed, agency_id="west-yorkshire-police")


@dataclass
class SchoolReceiver:
    """A school's receiver on loopback: answers per `behaviour`, records each webhook-id."""

    behaviour: str = "ok"  # ok | slow | hang | 500 | 410 | 429
    port: int = 0
    arrived: list[tuple[str, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    answered_429: set[str] = field(default_factory=set)

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def ids(self) -> Counter[str]:
        with self.lock:
            return Counter(i for i, _ in self.arrived)

    def reply(self, webhook_id: str) -> tuple[int, dict[str, str]]:
        if self.behaviour == "slow":
            self.stop.wait(0.3)
        elif self.behaviour == "hang":
            self.stop.wait(30)
        elif self.behaviour in ("500", "410"):
            return int(self.behaviour), {}
        elif self.behaviour == "429":
            with self.lock:
                first = webhook_id not in self.answered_429
                self.answered_429.add(webhook_id)
            if first:
                return 429, {"Retry-After": "1"}
        return 200, {}


@contextlib.contextmanager
def serving(receiver: SchoolReceiver) -> Iterator[SchoolReceiver]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            webhook_id = self.headers["webhook-id"]
            with receiver.lock:
                receiver.arrived.append((webhook_id, time.time()))
            status, headers = receiver.reply(webhook_id)
            with contextlib.suppress(OSError):
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("content-length", "0")
                self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.stop.set()
        server.shutdown()
        server.server_close()


class TestWorkerKilledDuringDelivery:
    async def test_every_alert_arrives_with_one_id_and_every_request_is_in_the_log(
        self, cluster: Cluster, fprocesses: Processes
    ) -> None:
        total = 24
        port = free_port()
        start_api(fprocesses, "notifications", port)
        with serving(SchoolReceiver(behaviour="slow")) as school:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as api:
                created = await api.post(
                    "/v1/schools",
                    headers=ADMIN,
                    json={
                        "urn": "199901",
                        "name": "Example Primary",
                        "delivery_preference": "webhook",
                    },
                )
                assert created.status_code == 201, created.text
                endpoint = await api.post(
                    "/v1/schools/199901/endpoints", headers=ADMIN, json={"url": school.url()}
                )
                assert endpoint.status_code == 201, endpoint.text
                for i in range(total):
                    incident = await api.post(
                        "/v1/encompass/incidents",
                        headers=POLICE_FEED,
                        json={
                            "police_reference": f"WYP/KILL/{i}",
                            "incident_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
                            "children": [
                                {"given_name": f"C{i}", "family_name": "X", "school_urn": "199901"}
                            ],
                        },
                    )
                    assert incident.status_code == 200, incident.text
            worker = fprocesses.worker("notifications")

            async def some_arrived() -> bool:
                return sum(school.ids().values()) >= 6

            await eventually(some_arrived, what="the first webhooks", processes=fprocesses)
            killed(fprocesses, worker)  # SIGKILL with sends in flight
            fprocesses.worker("notifications")
            delivered = "SELECT count(*) FROM notif_notifications WHERE delivered_at IS NOT NULL"

            async def all_delivered() -> bool:
                return scalar(cluster.url, delivered) >= total

            await eventually(
                all_delivered, what="every alert delivered", processes=fprocesses, timeout=240
            )
            received = school.ids()
        assert len(received) == total  # one webhook-id per alert, however often it was sent
        # The attempts log shows every request the school received (sent twice: logged twice).
        logged = "SELECT count(*) FROM notif_attempts"
        assert scalar(cluster.url, logged) >= sum(received.values())
        assert (
            scalar(cluster.url, "SELECT count(*) FROM notif_attempts WHERE outcome = 'sending'")
            == 0
        )


BEHAVIOURS = ("hang", "500", "410", "429")


@pytest.fixture
async def maker(cluster: Cluster) -> Any:
    engine = create_engine(cluster.url, pool_size=4)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


def night_settings(smtp_port: int) -> NotificationsSettings:
    """A night's schedule in seconds: retries, fallback, escalation and deadline scaled down."""
    return NotificationsSettings(
        smtp_port=smtp_port,
        retry_schedule=(0, 0.2, 0.5),
        retry_repeat_seconds=0.5,
        retry_jitter=0,
        attempt_timeout_seconds=1.0,
        max_retry_after_seconds=1.0,
        fallback_lead_seconds=3.0,
        escalation_lead_seconds=1.0,
        delivery_per_endpoint_concurrency=2,
        failure_disable_window_seconds=3600,
        public_base_url="http://frontdoor.test",
    )


async def add_school(
    maker: async_sessionmaker[AsyncSession], settings: NotificationsSettings, urn: str, url: str
) -> None:
    async with transaction(maker) as session:
        session.add(
            School(
                urn=urn,
                council_id="demo",
                name=f"School {urn}",
                terms=[],
                closure_days=[],
                dsl_email=f"dsl{urn}@school.example",
                delivery_preference="webhook",
            )
        )
        await session.flush()
        session.add(
            Endpoint(
                school_urn=urn,
                url=url,
                event_types=["encompass.notification.created"],
                enabled=True,
                consecutive_failures=0,
                secret_encrypted=encrypt(settings.encryption_key, "whsec_" + "A" * 32),
            )
        )


async def alert(
    maker: async_sessionmaker[AsyncSession], settings: NotificationsSettings, urn: str, ref: str
) -> None:
    """One child's alert with its deadline `DEADLINE_SECONDS` away (the night compressed)."""
    async with transaction(maker) as session:
        ctx = IntakeContext(
            session=session,
            settings=settings,
            council_id="demo",
            force_id="west-yorkshire-police",
            actor=None,
            source="batch",
        )
        data = IncidentIn.model_validate(
            {
                "police_reference": ref,
                "incident_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
                "children": [{"given_name": "A", "family_name": ref, "school_urn": urn}],
            }
        )
        result = await ingest_one(ctx, data)
        notification_id = result.children[0].notification_id
        deadline = datetime.now(UTC) + timedelta(seconds=DEADLINE_SECONDS)
        fallback = deadline - timedelta(seconds=settings.fallback_lead_seconds)
        await session.execute(
            update(Notification)
            .where(Notification.id == notification_id)
            .values(deadline_at=deadline)
        )
        await session.execute(
            update(Delivery)
            .where(Delivery.notification_id == notification_id)
            .values(
                deadline_at=deadline,
                fallback_at=fallback,
                give_up_at=deadline + timedelta(seconds=5),
            )
        )


DEADLINE_SECONDS = 6.0
HEALTHY = 6
WAVES = 8


async def night(
    maker: async_sessionmaker[AsyncSession],
    settings: NotificationsSettings,
    failing: bool,
    tag: str,
) -> tuple[list[float], list[Notification]]:
    """Alerts arriving in waves for healthy schools (and failing ones): the healthy schools'
    delivery latencies, and every notification at the end."""
    receivers = [SchoolReceiver("ok") for _ in range(HEALTHY)]
    bad = [SchoolReceiver(b) for b in BEHAVIOURS] if failing else []
    with contextlib.ExitStack() as stack:
        for r in [*receivers, *bad]:
            stack.enter_context(serving(r))
        healthy_urns = [f"{tag}{i:05d}" for i in range(HEALTHY)]
        bad_urns = [f"{tag}9{i:04d}" for i in range(len(bad))]
        for urn, r in zip([*healthy_urns, *bad_urns], [*receivers, *bad], strict=True):
            await add_school(maker, settings, urn, r.url())
        async with make_client(settings) as client:
            dispatcher = Dispatcher(maker, settings, client)
            for wave in range(WAVES):
                for urn in [*healthy_urns, *bad_urns]:
                    await alert(maker, settings, urn, f"{tag}-{urn}-{wave}")
                for _ in range(4):
                    await dispatcher.step()
                    await watch_deadlines(maker, settings)
                    await asyncio.sleep(0.05)
            for _ in range(400):
                await dispatcher.step()
                await watch_deadlines(maker, settings)
                if await _settled(maker, tag):
                    break
                await asyncio.sleep(0.05)
            for r in bad:
                r.stop.set()
            await dispatcher.drain()
    async with transaction(maker) as session:
        rows = list(
            (
                await session.scalars(
                    select(Notification).where(Notification.school_urn.like(f"{tag}%"))
                )
            ).all()
        )
    latencies = [
        (n.delivered_at - n.created_at).total_seconds()
        for n in rows
        if n.school_urn in healthy_urns and n.delivered_at is not None
    ]
    return latencies, rows


async def _settled(maker: async_sessionmaker[AsyncSession], tag: str) -> bool:
    async with transaction(maker) as session:
        open_ = await session.scalars(
            select(Notification.id).where(
                Notification.school_urn.like(f"{tag}%"),
                Notification.delivered_at.is_(None),
                Notification.escalated_at.is_(None),
            )
        )
        return not open_.all()


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


class TestMisbehavingReceivers:
    async def test_every_alert_is_delivered_or_escalated_and_healthy_schools_are_not_delayed(
        self, maker: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # The deadline watch's grace before an immediate fallback, scaled like the night.
        monkeypatch.setattr(watch, "_FIRST_ATTEMPT_GRACE", timedelta(seconds=0.5))
        smtp_port = free_port()
        sink, controller = start_mail_sink("127.0.0.1", smtp_port)
        try:
            settings = night_settings(smtp_port)
            baseline, _ = await night(maker, settings, failing=False, tag="1")
            with_failures, rows = await night(maker, settings, failing=True, tag="2")
        finally:
            controller.stop()
        assert len(baseline) == len(with_failures) == HEALTHY * WAVES
        for notification in rows:
            done = notification.delivered_at or notification.escalated_at
            assert done is not None, notification.school_urn
            assert notification.deadline_at is not None
            assert done < notification.deadline_at
        # The failing schools' alerts went by email (the sink has them) or were escalated.
        assert sink.snapshot()
        # Healthy schools: within 2x of the run without failing receivers. The floor (one
        # poll step) keeps scheduler noise on a busy machine from deciding the ratio.
        # Half a second: on a loaded two-core machine the healthy p95 moved 0.28 -> 0.60 s from
        # scheduling alone; a hung receiver blocking the line costs its 15 s timeout (10x+).
        floor = 0.5
        ratio = max(p95(with_failures), floor) / max(p95(baseline), floor)
        assert ratio <= 2.0, (p95(baseline), p95(with_failures))
