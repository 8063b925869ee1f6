"""Schools for the delivery fault tests: receivers that misbehave on loopback, schools and
alerts written straight to the test's own server, and a dispatcher run as the worker runs it.

The night is compressed by settings, not by a fake clock (see docs/reliability.md, "Running
the fault tests"): an alert's deadline is set seconds away, and the retry schedule, leads and
the deadline watch's grace are scaled with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import create_engine, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifications.delivery.dispatch import Dispatcher
from notifications.delivery.jobs import watch_deadlines
from notifications.delivery.secretbox import encrypt
from notifications.delivery.transport import make_client
from notifications.intake.schemas import IncidentIn
from notifications.intake.service import IntakeContext, ingest_one
from notifications.settings import NotificationsSettings
from services.db import sync_url, transaction
from services.models.notifications import Delivery, Endpoint, Notification, School

Maker = async_sessionmaker[AsyncSession]
# The 429 receiver's Retry-After (seconds), on each webhook-id's first request.
RETRY_AFTER = 2


@dataclass
class Request:
    """One request a receiver had: its webhook-id, the alert it carried, when it came and
    when the answer went back (None while the receiver still holds it)."""

    webhook_id: str
    notification_id: str
    arrived: float
    answered: float | None = None
    status: int | None = None


@dataclass
class SchoolReceiver:
    """A school's receiver on loopback, answering per `behaviour`:

    ok: 200 at once; hold: 200 after `hold` seconds; hang: nothing for 30 s (until stopped);
    500 / 410: that status at once; 429: after `hold` seconds, 429 with `Retry-After` on a
    webhook-id's first request, 200 on the next.
    """

    behaviour: str = "ok"
    hold: float = 0.0
    port: int = 0
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def ids(self) -> Counter[str]:
        """Requests per webhook-id."""
        with self.lock:
            return Counter(r.webhook_id for r in self.requests)

    def open(self) -> list[Request]:
        """Requests the receiver holds: no answer has gone back to the sender."""
        with self.lock:
            return [r for r in self.requests if r.answered is None]

    def seen(self) -> list[Request]:
        with self.lock:
            return list(self.requests)

    def _reply(self, request: Request) -> tuple[int, dict[str, str]]:
        if self.behaviour == "hang":
            self.stop.wait(30)
        elif self.behaviour in ("500", "410"):
            return int(self.behaviour), {}
        elif self.behaviour in ("hold", "429"):
            self.stop.wait(self.hold)
        if self.behaviour == "429":
            with self.lock:
                first = next(r for r in self.requests if r.webhook_id == request.webhook_id)
            if first is request:
                return 429, {"Retry-After": str(RETRY_AFTER)}
        return 200, {}

    def handle(self, webhook_id: str, body: bytes) -> tuple[Request, int, dict[str, str]]:
        notification_id = str(json.loads(body)["data"]["notification_id"])
        request = Request(webhook_id, notification_id, time.time())
        with self.lock:
            self.requests.append(request)
        status, headers = self._reply(request)
        return request, status, headers


@contextlib.contextmanager
def serving(receiver: SchoolReceiver) -> Iterator[SchoolReceiver]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            request, status, headers = receiver.handle(self.headers["webhook-id"], body)
            # Marked before the first byte of the answer goes: a request still open when the
            # sender died is one whose answer the sender cannot have read.
            with receiver.lock:
                request.answered, request.status = time.time(), status
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


async def add_school(maker: Maker, settings: NotificationsSettings, urn: str, url: str) -> None:
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
    maker: Maker, settings: NotificationsSettings, urn: str, ref: str, *, deadline_in: float
) -> uuid.UUID:
    """One child's alert, its school-day deadline replaced by one `deadline_in` seconds away
    (the fallback point `fallback_lead_seconds` before it, as the queue derives it); its id
    once committed."""
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
        deadline = datetime.now(UTC) + timedelta(seconds=deadline_in)
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
    return notification_id


class Worker:
    """The notifications worker's delivery loop, in-process with the test's settings: a
    dispatcher step every `poll` seconds and a deadline-watch pass every `watch_every` (the
    real worker steps every 0.25 s and watches every 15 s, for leads of minutes and hours)."""

    def __init__(self, maker: Maker, dispatcher: Dispatcher, settings: NotificationsSettings):
        self.maker, self.dispatcher, self.settings = maker, dispatcher, settings
        self.stopping = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def run(self, poll: float, watch_every: float) -> None:
        loop = asyncio.get_running_loop()
        watch_at = 0.0
        while not self.stopping.is_set():
            await self.dispatcher.step()
            if loop.time() >= watch_at:
                watch_at = loop.time() + watch_every
                await watch_deadlines(self.maker, self.settings)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), poll)

    async def until(
        self, check: Callable[[], Awaitable[bool]], *, what: str, timeout: float
    ) -> None:
        """Poll `check` while the loop runs; fail if the loop died or time ran out (a bound)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            assert self.task is not None
            if self.task.done():
                self.task.result()  # the loop's exception, if it died
                raise AssertionError(f"the delivery loop stopped while waiting for {what}")
            if await check():
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"gave up waiting for {what}")


@contextlib.asynccontextmanager
async def dispatching(
    maker: Maker, settings: NotificationsSettings, *, poll: float = 0.05, watch_every: float = 0.25
) -> AsyncIterator[Worker]:
    async with make_client(settings) as client:
        worker = Worker(maker, Dispatcher(maker, settings, client), settings)
        worker.task = asyncio.create_task(worker.run(poll, watch_every))
        try:
            yield worker
        finally:
            worker.stopping.set()
            await worker.task
            await worker.dispatcher.close()


def rows(url: str, sql: str, **params: Any) -> list[Any]:
    """Rows of one query on the test's own server (a connection of its own)."""
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params).all())
    finally:
        engine.dispose()
