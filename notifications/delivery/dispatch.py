"""The delivery dispatcher: claim due rows with SKIP LOCKED, send, record every attempt.

Each delivery is sent on its own: a slow or failing receiver holds up only its own alerts.
Sends run side by side up to `delivery_concurrency` in all, `delivery_per_endpoint_concurrency`
per webhook endpoint and `smtp_concurrency` to the mail server, each bounded by the attempt
timeout; a claim only takes what there is room to start at once, so nothing waits in memory
while its lease runs down. An endpoint that has failed since its last success gets one slot,
and failing endpoints together (with every lane's sends beyond its first) at most half of
`delivery_concurrency` (`_Room`): however many schools' receivers hang, the healthy schools
keep the other half.

Claiming pushes `next_attempt_at` forward by a lease and writes the attempt row ("sending")
in the same commit, BEFORE the request goes out: the attempts log shows every request a
receiver may have had, even when the worker dies mid-send. The result completes that row.
A crashed worker's rows come back when its liveness lock is gone (seconds, see `leases`) or,
failing that, when the lease ends; the receiver sees the same `webhook-id` either way.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifications.delivery import repository
from notifications.delivery.leases import LeaseKeeper, reclaim_orphans
from notifications.delivery.outcomes import record_results
from notifications.delivery.secretbox import decrypt
from notifications.delivery.transport import (
    AttemptResult,
    Claimed,
    escalation_relay,
    post_webhook,
    send_email,
)
from notifications.settings import NotificationsSettings
from services.db import transaction
from services.models.notifications import Endpoint

log = structlog.get_logger(__name__)

# Beyond the attempt timeout: time to record the result before another worker may retry, when
# no liveness lock says the sender is gone (the lock normally frees a dead worker's rows first).
LEASE_MARGIN_SECONDS = 30
# Due rows looked at per claim: enough to find every endpoint with room, bounded work per step.
_CLAIM_WINDOW = 2000
# A dead worker's rows are looked for this often: its alerts go out again within ~2 s.
RECLAIM_EVERY_SECONDS = 2.0
SMTP = repository.SMTP_LANE


def active_secrets(endpoint: Endpoint, key: bytes, now: datetime) -> tuple[str, ...]:
    """The current secret, plus the previous one while a rotation's overlap lasts."""
    current = decrypt(key, endpoint.secret_encrypted)
    previous = endpoint.previous_secret_encrypted
    expires = endpoint.previous_secret_expires_at
    if previous and expires and expires > now:
        return (current, decrypt(key, previous))
    return (current,)


def lane(endpoint_id: uuid.UUID | None) -> str:
    """What a send's concurrency is counted against: its endpoint, or the mail server."""
    return str(endpoint_id) if endpoint_id is not None else SMTP


def lane_limit(settings: NotificationsSettings, name: str) -> int:
    return settings.smtp_concurrency if name == SMTP else settings.delivery_per_endpoint_concurrency


def shared_limit(settings: NotificationsSettings) -> int:
    """The slots that failing endpoints' sends and every lane's sends beyond its first share:
    half the overall limit, so the other half is always there for healthy lanes' first sends."""
    return max(1, settings.delivery_concurrency // 2)


class _Room:
    """What may start now, given the sends in flight (`busy`, by lane).

    A healthy lane has `lane_limit` slots; a failing endpoint (one that has failed since its
    last success) has one. A lane's first send in flight is its own; a failing endpoint's
    send, and any lane's second, third ... send, come out of `shared_limit`. Hung or failing
    receivers can therefore hold at most half the overall limit, however many there are, and
    a healthy school's alert always finds a slot that no failing one can take.
    """

    def __init__(
        self, settings: NotificationsSettings, busy: Counter[str], failing: set[str]
    ) -> None:
        self.settings, self.busy, self.failing = settings, Counter(busy), failing
        used = sum(n if name in failing else max(0, n - 1) for name, n in busy.items())
        self.shared_left = shared_limit(settings) - used

    def limit(self, name: str) -> int:
        return 1 if name in self.failing else lane_limit(self.settings, name)

    def full(self) -> list[str]:
        """Lanes nothing more can start on (with no shared slot left: every busy lane)."""
        if self.shared_left <= 0:
            return list(self.busy)
        return [name for name, n in self.busy.items() if n >= self.limit(name)]

    def take(self, name: str, failing: bool) -> bool:
        if failing:
            self.failing.add(name)
        in_flight = self.busy[name]
        if in_flight >= self.limit(name):
            return False
        shared = failing or in_flight > 0
        if shared and self.shared_left <= 0:
            return False
        self.busy[name] += 1
        self.shared_left -= int(shared)
        return True


async def _pick(
    session: AsyncSession,
    settings: NotificationsSettings,
    limit: int,
    busy: Counter[str],
    now: datetime,
) -> list[uuid.UUID]:
    """Due rows, oldest first, at most what each lane has room for (full lanes skipped)."""
    endpoints = [uuid.UUID(name) for name in busy if name != SMTP]
    failing = {str(i) for i in await repository.failing_endpoints(session, endpoints)}
    room = _Room(settings, busy, failing)
    most = max(settings.delivery_per_endpoint_concurrency, settings.smtp_concurrency)
    rows = await repository.due_by_lane(
        session,
        now=now,
        full_lanes=room.full(),
        per_lane=most,
        window=_CLAIM_WINDOW,
        limit=limit * most,
        skip_failing=room.shared_left <= 0,
    )
    chosen: list[uuid.UUID] = []
    for row_id, row_lane, row_failing in rows:
        if len(chosen) >= limit:
            break
        if room.take(row_lane, row_failing):
            chosen.append(row_id)
    return chosen


async def claim(
    session: AsyncSession,
    settings: NotificationsSettings,
    limit: int,
    *,
    busy: Counter[str] | None = None,
    lease_key: int | None = None,
) -> list[Claimed]:
    """Lease up to `limit` due deliveries that have room to start now, write their attempt
    rows, and snapshot them for sending (no database needed to send)."""
    now = datetime.now(UTC)
    chosen = await _pick(session, settings, limit, busy or Counter(), now)
    if not chosen:
        return []
    until = now + timedelta(seconds=settings.attempt_timeout_seconds + LEASE_MARGIN_SECONDS)
    leased = await repository.lease(session, chosen, now=now, until=until, lease_key=lease_key)
    endpoints = await repository.endpoints_by_id(
        session, {c.endpoint_id for c in leased if c.endpoint_id is not None}
    )
    usable = {
        e.id: (e.url, active_secrets(e, settings.encryption_key, now))
        for e in endpoints.values()
        if e.enabled
    }
    claimed: list[Claimed] = []
    unusable: list[uuid.UUID] = []
    for c in leased:
        if c.channel == "webhook" and c.endpoint_id not in usable:
            unusable.append(c.delivery_id)
            continue
        if c.endpoint_id is not None and c.endpoint_id in usable:
            url, secrets = usable[c.endpoint_id]
            c = replace(c, url=url, secrets=secrets)
        claimed.append(c)
    if unusable:
        await repository.abandon(session, unusable, reason="endpoint disabled")
    return await _open_attempts(session, claimed, now)


async def _open_attempts(
    session: AsyncSession, claimed: list[Claimed], now: datetime
) -> list[Claimed]:
    """The "sending" attempt row of each claimed delivery, committed before any request goes
    out. An earlier row still "sending" is a request whose answer nobody recorded."""
    if not claimed:
        return []
    ids = [c.delivery_id for c in claimed]
    await repository.interrupt_sending(session, ids)
    attempt_of = await repository.add_attempts(session, [(i, None) for i in ids], now=now)
    return [replace(c, attempt_id=attempt_of[c.delivery_id]) for c in claimed]


async def send(
    item: Claimed, client: httpx.AsyncClient, settings: NotificationsSettings
) -> AttemptResult:
    """One attempt's result, whatever happens, never longer than the attempt timeout (the
    address check included; an escalation with a relay gets one timeout per server): an error
    in one endpoint's attempt (a URL the HTTP library cannot parse, a bug) is that attempt's
    failure, never the batch's."""
    now = datetime.now(UTC)
    servers = 2 if item.kind == "escalation" and escalation_relay(settings) else 1
    budget = settings.attempt_timeout_seconds * servers
    try:
        async with asyncio.timeout(budget):
            return await _send(item, client, settings)
    except TimeoutError:
        return AttemptResult("failed", now, int(budget * 1000), error="timeout")
    except Exception as exc:
        log.error("delivery_attempt_crashed", error_type=type(exc).__name__)
        return AttemptResult("failed", datetime.now(UTC), 0, error=type(exc).__name__[:200])


async def _send(
    item: Claimed, client: httpx.AsyncClient, settings: NotificationsSettings
) -> AttemptResult:
    if item.channel == "webhook":
        assert item.url is not None
        return await post_webhook(
            client,
            settings,
            url=item.url,
            secrets=list(item.secrets),
            message_id=item.message_id,
            body=item.body,
        )
    result = await send_email(
        settings,
        recipients=list(item.recipients),
        subject=item.subject or "",
        text=item.body,
        message_id=item.message_id,
    )
    relay = escalation_relay(settings)
    if item.kind == "escalation" and result.outcome != "delivered" and relay is not None:
        # The duty manager must hear of an alert nobody received even when the alerts' own
        # mail server is what failed: the same message (same Message-ID) through the relay.
        second = await send_email(
            settings,
            recipients=list(item.recipients),
            subject=item.subject or "",
            text=item.body,
            message_id=item.message_id,
            server=relay,
        )
        spent = result.latency_ms + second.latency_ms
        if second.outcome == "delivered":
            return replace(second, attempted_at=result.attempted_at, latency_ms=spent)
        error = f"{result.error}; relay: {second.error}"[:200]
        return replace(result, latency_ms=spent, error=error)
    return result


class Dispatcher:
    """One worker's sends in flight, and their results waiting to be recorded.

    `step()` never waits for a send: it records what has finished, reclaims dead workers'
    rows, and starts what there is room for. `drain()` steps until nothing is due or in flight.
    """

    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        settings: NotificationsSettings,
        client: httpx.AsyncClient,
        *,
        leases: LeaseKeeper | None = None,
    ) -> None:
        self.maker, self.settings, self.client, self.leases = maker, settings, client, leases
        self.busy: Counter[str] = Counter()
        self.in_flight: set[asyncio.Task[None]] = set()
        self.finished: list[tuple[Claimed, AttemptResult]] = []
        self.attempts = 0
        self._reclaim_at = 0.0

    async def step(self) -> int:
        """Record, reclaim, start: the number of sends started."""
        await self.record()
        if self.leases is not None and await self.leases.ensure():
            loop_time = asyncio.get_running_loop().time()
            if loop_time >= self._reclaim_at:
                self._reclaim_at = loop_time + RECLAIM_EVERY_SECONDS
                await reclaim_orphans(self.maker, self.leases)
        free = self.settings.delivery_concurrency - len(self.in_flight)
        if free <= 0:
            return 0
        async with transaction(self.maker) as session:
            batch = await claim(
                session,
                self.settings,
                min(free, self.settings.delivery_batch_size),
                busy=self.busy,
                lease_key=self.leases.key if self.leases and self.leases.held else None,
            )
        for item in batch:
            self._start(item)
        if batch:
            log.info("deliveries_started", count=len(batch), in_flight=len(self.in_flight))
        return len(batch)

    def _start(self, item: Claimed) -> None:
        name = lane(item.endpoint_id)
        self.busy[name] += 1

        async def run() -> None:
            # `send` turns any exception into a failed result: a bug never loses the attempt.
            result = await send(item, self.client, self.settings)
            # Appended after the send: `record` swaps `self.finished` for a new list meanwhile.
            self.finished.append((item, result))

        task = asyncio.create_task(run())
        self.in_flight.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self.in_flight.discard(t)
            self.busy[name] -= 1
            if self.busy[name] <= 0:
                del self.busy[name]

        task.add_done_callback(done)

    async def record(self) -> int:
        """Write the finished sends' results (kept for the next step if the database fails)."""
        if not self.finished:
            return 0
        batch, self.finished = self.finished, []
        try:
            async with transaction(self.maker) as session:
                await record_results(session, self.settings, batch)
        except BaseException:
            self.finished = batch + self.finished
            raise
        self.attempts += len(batch)
        return len(batch)

    async def wait(self, timeout: float | None = None) -> None:
        """Until at least one send in flight finishes (or `timeout`)."""
        if self.in_flight:
            await asyncio.wait(
                set(self.in_flight), timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )

    async def drain(self, *, max_steps: int = 50) -> int:
        """Send everything due now and record it; the number of attempts recorded."""
        before = self.attempts
        for _ in range(max_steps):
            started = await self.step()
            if not started and not self.in_flight and not self.finished:
                break
            await self.wait()
        await self.close()
        return self.attempts - before

    async def close(self) -> None:
        """Let the sends in flight finish (each is bounded by the attempt timeout), record."""
        if self.in_flight:
            await asyncio.wait(set(self.in_flight))
        await self.record()
        if self.leases is not None:
            await self.leases.close()


async def deliver_due(
    maker: async_sessionmaker[AsyncSession],
    settings: NotificationsSettings,
    client: httpx.AsyncClient,
    *,
    max_batches: int = 50,
) -> int:
    """Send everything due (up to `max_batches` claims) and wait for it; the attempts made."""
    return await Dispatcher(maker, settings, client).drain(max_steps=max_batches)
