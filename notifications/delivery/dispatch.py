"""The delivery dispatcher: claim due rows with SKIP LOCKED, send, record every attempt.

Claiming pushes `next_attempt_at` forward by a lease and commits, so the sends happen outside
any transaction and a crashed worker's rows come back when the lease ends (the receiver sees
the same `webhook-id` and can deduplicate). Results are written in one transaction per batch.
Any number of workers can run this side by side.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from datetime import UTC, datetime, timedelta

import httpx
import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifications.delivery.outcomes import record_results
from notifications.delivery.transport import AttemptResult, Claimed, post_webhook, send_email
from notifications.secretbox import decrypt
from notifications.settings import NotificationsSettings
from services.db import transaction
from services.models.notifications import Delivery, Endpoint

log = structlog.get_logger(__name__)

# Beyond the attempt timeout: time to record the result before another worker may retry.
_LEASE_MARGIN_SECONDS = 60


def active_secrets(endpoint: Endpoint, key: bytes, now: datetime) -> tuple[str, ...]:
    """The current secret, plus the previous one while a rotation's overlap lasts."""
    current = decrypt(key, endpoint.secret_encrypted)
    previous = endpoint.previous_secret_encrypted
    expires = endpoint.previous_secret_expires_at
    if previous and expires and expires > now:
        return (current, decrypt(key, previous))
    return (current,)


async def claim(
    session: AsyncSession, settings: NotificationsSettings, limit: int
) -> list[Claimed]:
    """Lease up to `limit` due deliveries in one statement (SKIP LOCKED) and snapshot them."""
    now = datetime.now(UTC)
    lease = now + timedelta(seconds=settings.attempt_timeout_seconds + _LEASE_MARGIN_SECONDS)
    due = (
        select(Delivery.id)
        .where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
        .order_by(Delivery.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    rows = (
        await session.execute(
            update(Delivery)
            .where(Delivery.id.in_(due))
            .values(next_attempt_at=lease)
            .returning(
                Delivery.id,
                Delivery.channel,
                Delivery.kind,
                Delivery.message_id,
                Delivery.body,
                Delivery.notification_id,
                Delivery.endpoint_id,
                Delivery.recipients,
                Delivery.subject,
            )
            .execution_options(synchronize_session=False)
        )
    ).all()
    endpoint_ids = {r.endpoint_id for r in rows if r.endpoint_id is not None}
    endpoints = {
        e.id: e
        for e in await session.scalars(select(Endpoint).where(Endpoint.id.in_(endpoint_ids)))
    }
    usable = {
        e.id: (e.url, active_secrets(e, settings.encryption_key, now))
        for e in endpoints.values()
        if e.enabled
    }
    claimed: list[Claimed] = []
    unusable: list[uuid.UUID] = []
    for r in rows:
        if r.channel == "webhook" and r.endpoint_id not in usable:
            unusable.append(r.id)
            continue
        url, secrets = usable.get(r.endpoint_id, (None, ())) if r.endpoint_id else (None, ())
        claimed.append(
            Claimed(
                r.id,
                r.channel,
                r.kind,
                r.message_id,
                r.body,
                notification_id=r.notification_id,
                endpoint_id=r.endpoint_id,
                url=url,
                secrets=secrets,
                recipients=tuple(r.recipients or ()),
                subject=r.subject,
            )
        )
    if unusable:
        await session.execute(
            update(Delivery)
            .where(Delivery.id.in_(unusable))
            .values(status="abandoned", next_attempt_at=None, last_error="endpoint disabled")
            .execution_options(synchronize_session=False)
        )
    return claimed


async def send(
    item: Claimed, client: httpx.AsyncClient, settings: NotificationsSettings
) -> AttemptResult:
    """One attempt's result, whatever happens: an error in one endpoint's attempt (a URL the
    HTTP library cannot parse, a bug) is that attempt's failure, never the batch's."""
    try:
        return await _send(item, client, settings)
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
    return await send_email(
        settings,
        recipients=list(item.recipients),
        subject=item.subject or "",
        text=item.body,
        message_id=item.message_id,
    )


# One gate per HTTP client, shared by every dispatcher using it: requests never queue inside
# the connection pool (whose wait queue is scanned per request, quadratic when long).
_GATES: weakref.WeakKeyDictionary[httpx.AsyncClient, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _gate_for(client: httpx.AsyncClient, settings: NotificationsSettings) -> asyncio.Semaphore:
    gate = _GATES.get(client)
    if gate is None:
        gate = _GATES[client] = asyncio.Semaphore(settings.delivery_concurrency)
    return gate


async def deliver_due(
    maker: async_sessionmaker[AsyncSession],
    settings: NotificationsSettings,
    client: httpx.AsyncClient,
    *,
    max_batches: int = 50,
) -> int:
    """Send everything due (up to `max_batches` batches); the number of attempts made."""
    gate = _gate_for(client, settings)

    async def bounded(item: Claimed) -> AttemptResult:
        async with gate:
            return await send(item, client, settings)

    done = 0
    for _ in range(max_batches):
        async with transaction(maker) as session:
            batch = await claim(session, settings, settings.delivery_batch_size)
        if not batch:
            break
        results = await asyncio.gather(*(bounded(item) for item in batch))
        async with transaction(maker) as session:
            await record_results(session, settings, list(zip(batch, results, strict=True)))
        done += len(batch)
        log.info("deliveries_attempted", count=len(batch))
    return done
