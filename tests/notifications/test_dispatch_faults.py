"""Delivery under a failing receiver and a dying worker: independence, attempts, liveness."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifications.delivery.dispatch import Dispatcher, shared_limit
from notifications.delivery.leases import LeaseKeeper, reclaim_orphans
from notifications.delivery.transport import make_client
from notifications.intake.schemas import IncidentIn
from notifications.intake.service import IntakeContext, ingest_one
from notifications.settings import NotificationsSettings
from services.db import transaction
from services.models.notifications import Attempt, Delivery, Endpoint, Notification
from tests.notifications.conftest import create_endpoint, create_school, incident

Maker = async_sessionmaker[AsyncSession]


@dataclass
class HangingReceiver:
    """A real receiver on loopback that holds every request until `release` is set (after
    answering the first `fail_first` with a 500 at once)."""

    port: int = 0
    fail_first: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: list[str] = field(default_factory=list)
    open_now: int = 0
    most_open: int = 0

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


def _serve(receiver: HangingReceiver) -> Iterator[HangingReceiver]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            with receiver.lock:
                receiver.arrived.append(self.headers["webhook-id"])
                failing = receiver.fail_first > 0
                receiver.fail_first -= int(failing)
                if not failing:
                    receiver.open_now += 1
                    receiver.most_open = max(receiver.most_open, receiver.open_now)
            if not failing:
                receiver.release.wait(30)
                with receiver.lock:
                    receiver.open_now -= 1
            self.send_response(500 if failing else 200)
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
        receiver.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def hanging() -> Iterator[HangingReceiver]:
    yield from _serve(HangingReceiver())


@pytest.fixture
def healthy() -> Iterator[HangingReceiver]:
    receiver = HangingReceiver()
    receiver.release.set()
    yield from _serve(receiver)


async def school_with_endpoint(
    maker: Maker, settings: NotificationsSettings, urn: str, url: str
) -> None:
    async with transaction(maker) as session:
        school = await create_school(session, urn=urn, delivery_preference="webhook")
        await create_endpoint(session, settings, school, url)


async def alerts_for(maker: Maker, settings: NotificationsSettings, urn: str, n: int) -> None:
    async with transaction(maker) as session:
        ctx = IntakeContext(
            session=session,
            settings=settings,
            council_id="demo",
            force_id="west-yorkshire-police",
            actor=None,
            source="batch",
        )
        for i in range(n):
            child = {**incident()["children"][0], "school_urn": urn, "given_name": f"C{i}"}
            data = incident(f"WY-{urn}-{i}-{uuid.uuid4().hex[:6]}", children=[child])
            await ingest_one(ctx, IncidentIn.model_validate(data))


async def delivered_to(maker: Maker, urn: str) -> int:
    async with transaction(maker) as session:
        rows = await session.scalars(
            select(Notification.id).where(
                Notification.school_urn == urn, Notification.delivered_at.is_not(None)
            )
        )
        return len(rows.all())


async def attempts(maker: Maker) -> list[Attempt]:
    async with transaction(maker) as session:
        return list((await session.scalars(select(Attempt).order_by(Attempt.id))).all())


async def until(predicate: Any, dispatcher: Dispatcher | None = None, steps: int = 400) -> None:
    for _ in range(steps):
        if dispatcher is not None:
            await dispatcher.step()
        if await predicate():
            return
        await asyncio.sleep(0.025)
    raise AssertionError("condition not reached")


@pytest.fixture
def settings(nsettings: NotificationsSettings) -> NotificationsSettings:
    return nsettings.model_copy(
        update={"delivery_per_endpoint_concurrency": 2, "attempt_timeout_seconds": 30}
    )


class TestAHungReceiverDelaysOnlyItsOwnAlerts:
    async def test_the_healthy_school_is_delivered_while_the_hung_one_waits(
        self,
        committed_db: str,
        maker: Maker,
        settings: NotificationsSettings,
        hanging: HangingReceiver,
        healthy: HangingReceiver,
    ) -> None:
        await school_with_endpoint(maker, settings, "100001", hanging.url())
        await school_with_endpoint(maker, settings, "100002", healthy.url())
        await alerts_for(maker, settings, "100001", 6)
        async with make_client(settings) as client:
            dispatcher = Dispatcher(maker, settings, client)
            await until(lambda: _ready(hanging, 2), dispatcher)
            await alerts_for(maker, settings, "100002", 6)  # arrive while the first school hangs

            async def all_healthy() -> bool:
                return await delivered_to(maker, "100002") == 6

            await until(all_healthy, dispatcher)
            # The hung school: only its share in flight, nothing delivered, the rest waiting.
            assert hanging.most_open == 2
            assert await delivered_to(maker, "100001") == 0
            hanging.release.set()
            await dispatcher.drain()
        assert await delivered_to(maker, "100001") == 6
        assert len(set(hanging.arrived)) == 6

    async def test_a_claim_takes_only_what_each_endpoint_has_room_for(
        self,
        committed_db: str,
        maker: Maker,
        settings: NotificationsSettings,
        hanging: HangingReceiver,
    ) -> None:
        await school_with_endpoint(maker, settings, "100001", hanging.url())
        await alerts_for(maker, settings, "100001", 5)
        async with make_client(settings) as client:
            dispatcher = Dispatcher(maker, settings, client)
            assert await dispatcher.step() == 2
            assert await dispatcher.step() == 0  # the endpoint's share is in flight
            async with transaction(maker) as session:
                rows = (await session.scalars(select(Delivery))).all()
                leased = [d for d in rows if d.next_attempt_at and d.next_attempt_at > utcnow()]
            hanging.release.set()
            await dispatcher.drain()
        assert len(leased) == 2  # the waiting three were not leased to sit in memory
        assert len(set(hanging.arrived)) == 5


@pytest.fixture
def many_hanging() -> Iterator[list[HangingReceiver]]:
    """Six receivers that hang, each on its own port (six schools' systems)."""
    with contextlib.ExitStack() as stack:
        yield [
            stack.enter_context(contextlib.contextmanager(_serve)(HangingReceiver()))
            for _ in range(6)
        ]


def open_requests(receivers: list[HangingReceiver]) -> int:
    total = 0
    for receiver in receivers:
        with receiver.lock:
            total += receiver.open_now
    return total


def hung_in_flight(dispatcher: Dispatcher, lanes: set[str]) -> list[int]:
    return [n for name, n in dispatcher.busy.items() if name in lanes]


async def lanes_of(maker: Maker, urns: list[str]) -> set[str]:
    async with transaction(maker) as session:
        rows = await session.scalars(select(Endpoint.id).where(Endpoint.school_urn.in_(urns)))
        return {str(i) for i in rows.all()}


class TestHungReceiversNeverFillTheOverallLimit:
    """More hung receivers than the overall limit has room for (receivers x per-endpoint
    slots > `delivery_concurrency`): the healthy school still goes out while they hang."""

    @pytest.fixture
    def wide(self, settings: NotificationsSettings) -> NotificationsSettings:
        wide = settings.model_copy(update={"delivery_per_endpoint_concurrency": 4})
        assert wide.delivery_concurrency == 8
        return wide

    async def test_failing_endpoints_get_one_slot_each_and_half_the_limit_together(
        self,
        committed_db: str,
        maker: Maker,
        wide: NotificationsSettings,
        many_hanging: list[HangingReceiver],
        healthy: HangingReceiver,
    ) -> None:
        hung = [f"1101{i:02d}" for i in range(len(many_hanging))]
        assert len(hung) * wide.delivery_per_endpoint_concurrency > wide.delivery_concurrency
        for urn, receiver in zip(hung, many_hanging, strict=True):
            receiver.fail_first = 1  # the school's system fails first (a 500), then hangs
            await school_with_endpoint(maker, wide, urn, receiver.url())
            await alerts_for(maker, wide, urn, 4)
        await school_with_endpoint(maker, wide, "110200", healthy.url())
        lanes = await lanes_of(maker, hung)
        async with make_client(wide) as client:
            dispatcher = Dispatcher(maker, wide, client)

            async def all_failed_and_hanging() -> bool:
                return await failing_count(maker, lanes) == len(lanes) and open_requests(
                    many_hanging
                ) >= shared_limit(wide)

            await until(all_failed_and_hanging, dispatcher)
            for _ in range(5):  # the hung schools' backlog is due: nothing more of it starts
                await dispatcher.step()
                in_flight = hung_in_flight(dispatcher, lanes)
                assert max(in_flight) == 1
                assert sum(in_flight) == shared_limit(wide) == 4
            await alerts_for(maker, wide, "110200", 3)  # arrive while six schools hang

            async def healthy_delivered() -> bool:
                return await delivered_to(maker, "110200") == 3

            await until(healthy_delivered, dispatcher)
            # Delivered while every hung send was still open: nobody waited for a timeout.
            assert open_requests(many_hanging) == shared_limit(wide)
            assert all(r.most_open <= 1 for r in many_hanging)
            assert sum([await delivered_to(maker, urn) for urn in hung]) == 0
            for receiver in many_hanging:
                receiver.release.set()
            await dispatcher.drain(max_steps=200)
        assert sum([await delivered_to(maker, urn) for urn in hung]) == 4 * len(hung)

    async def test_hung_receivers_not_yet_failing_leave_room_for_a_healthy_school(
        self,
        committed_db: str,
        maker: Maker,
        wide: NotificationsSettings,
        many_hanging: list[HangingReceiver],
        healthy: HangingReceiver,
    ) -> None:
        # Three receivers that hang from their first request: 12 sends could fill the 8.
        hanging_now = many_hanging[:3]
        hung = [f"1103{i:02d}" for i in range(len(hanging_now))]
        for urn, receiver in zip(hung, hanging_now, strict=True):
            await school_with_endpoint(maker, wide, urn, receiver.url())
            await alerts_for(maker, wide, urn, 4)
        await school_with_endpoint(maker, wide, "110400", healthy.url())
        async with make_client(wide) as client:
            dispatcher = Dispatcher(maker, wide, client)
            # Each hung school's first send, plus extras out of the shared half only.
            assert await dispatcher.step() == len(hung) + shared_limit(wide)
            assert await dispatcher.step() == 0

            async def all_hanging() -> bool:
                return open_requests(hanging_now) == len(hung) + shared_limit(wide)

            await until(all_hanging)
            await alerts_for(maker, wide, "110400", 1)

            async def healthy_delivered() -> bool:
                return await delivered_to(maker, "110400") == 1

            await until(healthy_delivered, dispatcher)
            assert open_requests(hanging_now) == len(hung) + shared_limit(wide)
            assert sum([await delivered_to(maker, urn) for urn in hung]) == 0
            for receiver in hanging_now:
                receiver.release.set()
            await dispatcher.drain(max_steps=200)
        assert sum([await delivered_to(maker, urn) for urn in hung]) == 4 * len(hung)


async def failing_count(maker: Maker, lanes: set[str]) -> int:
    async with transaction(maker) as session:
        rows = await session.scalars(
            select(Endpoint.id).where(
                Endpoint.id.in_([uuid.UUID(i) for i in lanes]), Endpoint.consecutive_failures > 0
            )
        )
        return len(rows.all())


def utcnow() -> datetime:
    return datetime.now(UTC)


async def _ready(receiver: HangingReceiver, n: int) -> bool:
    with receiver.lock:
        return len(receiver.arrived) >= n


class TestAttemptsLog:
    async def test_the_attempt_row_is_written_before_the_request_goes_out(
        self,
        committed_db: str,
        maker: Maker,
        settings: NotificationsSettings,
        hanging: HangingReceiver,
    ) -> None:
        await school_with_endpoint(maker, settings, "100001", hanging.url())
        await alerts_for(maker, settings, "100001", 1)
        async with make_client(settings) as client:
            dispatcher = Dispatcher(maker, settings, client)
            await until(lambda: _ready(hanging, 1), dispatcher)
            (sending,) = await attempts(maker)  # the receiver has it; the log says so
            assert sending.outcome == "sending"
            hanging.release.set()
            await dispatcher.drain()
        (done,) = await attempts(maker)
        assert (done.id, done.outcome, done.status_code) == (sending.id, "delivered", 200)


class TestADeadWorkersDeliveries:
    async def test_are_sent_again_at_once_with_the_same_id_and_the_log_shows_both(
        self,
        committed_db: str,
        maker: Maker,
        settings: NotificationsSettings,
        hanging: HangingReceiver,
    ) -> None:
        await school_with_endpoint(maker, settings, "100001", hanging.url())
        await alerts_for(maker, settings, "100001", 1)
        dead = LeaseKeeper(committed_db)
        async with make_client(settings) as client:
            doomed = Dispatcher(maker, settings, client, leases=dead)
            await until(lambda: _ready(hanging, 1), doomed)
            # The worker dies: its sends are dropped unrecorded, its connections closed.
            for task in list(doomed.in_flight):
                task.cancel()
            await dead.close()
        hanging.release.set()
        survivor = LeaseKeeper(committed_db)
        async with make_client(settings) as client:
            dispatcher = Dispatcher(maker, settings, client, leases=survivor)
            # Without the liveness key the row would wait out its lease (attempt timeout + 30 s).
            await until(lambda: _ready(hanging, 2), dispatcher, steps=200)
            await dispatcher.drain()
        first, second = hanging.arrived
        assert first == second  # the same webhook-id: the school can deduplicate
        outcomes = [a.outcome for a in await attempts(maker)]
        assert outcomes == ["interrupted", "delivered"]

    async def test_a_live_workers_sends_are_never_taken_from_it(
        self,
        committed_db: str,
        maker: Maker,
        settings: NotificationsSettings,
        hanging: HangingReceiver,
    ) -> None:
        await school_with_endpoint(maker, settings, "100001", hanging.url())
        await alerts_for(maker, settings, "100001", 1)
        live, other = LeaseKeeper(committed_db), LeaseKeeper(committed_db)
        async with make_client(settings) as client:
            sender = Dispatcher(maker, settings, client, leases=live)
            await until(lambda: _ready(hanging, 1), sender)
            assert await other.ensure()
            assert await reclaim_orphans(maker, other) == 0
            hanging.release.set()
            await sender.drain()
        await other.close()
        assert len(hanging.arrived) == 1
