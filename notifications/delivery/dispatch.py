"""The delivery dispatcher: claim due rows with SKIP LOCKED, send, record every attempt.

Claiming pushes `next_attempt_at` forward by a lease and commits, so the sends happen outside
any transaction and a crashed worker's rows come back when the lease ends (the receiver sees
the same `webhook-id` and can deduplicate). Results are written in one transaction per batch.
Any number of workers can run this side by side.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifications.delivery.outcomes import record_results
from notifications.delivery.transport import AttemptResult, post_webhook, send_email
from notifications.secretbox import decrypt
from notifications.settings import NotificationsSettings
from services.db import transaction
from services.models.notifications import Delivery, Endpoint

log = structlog.get_logger(__name__)

# Beyond the attempt timeout: time to record the result before another worker may retry.
_LEASE_MARGIN_SECONDS = 60


@dataclass(frozen=True)
class Claimed:
    delivery_id: uuid.UUID
    channel: str
    message_id: str
    body: str
    url: str | None = None
    secrets: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()
    subject: str | None = None


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
    now = datetime.now(UTC)
    rows = (
        await session.execute(
            select(Delivery, Endpoint)
            .outerjoin(Endpoint, Endpoint.id == Delivery.endpoint_id)
            .where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
            .order_by(Delivery.next_attempt_at)
            .limit(limit)
            .with_for_update(of=Delivery, skip_locked=True)
        )
    ).all()
    lease = now + timedelta(seconds=settings.attempt_timeout_seconds + _LEASE_MARGIN_SECONDS)
    claimed: list[Claimed] = []
    for delivery, endpoint in rows:
        if delivery.channel == "webhook" and (endpoint is None or not endpoint.enabled):
            delivery.status, delivery.next_attempt_at = "abandoned", None
            delivery.last_error = "endpoint disabled"
            continue
        delivery.next_attempt_at = lease
        claimed.append(_snapshot(delivery, endpoint, settings, now))
    return claimed


def _snapshot(
    delivery: Delivery, endpoint: Endpoint | None, settings: NotificationsSettings, now: datetime
) -> Claimed:
    if delivery.channel == "webhook":
        assert endpoint is not None
        return Claimed(
            delivery.id,
            "webhook",
            delivery.message_id,
            delivery.body,
            url=endpoint.url,
            secrets=active_secrets(endpoint, settings.encryption_key, now),
        )
    return Claimed(
        delivery.id,
        "email",
        delivery.message_id,
        delivery.body,
        recipients=tuple(delivery.recipients),
        subject=delivery.subject,
    )


async def send(
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


async def deliver_due(
    maker: async_sessionmaker[AsyncSession],
    settings: NotificationsSettings,
    client: httpx.AsyncClient,
    *,
    max_batches: int = 50,
) -> int:
    """Send everything due (up to `max_batches` batches); the number of attempts made."""
    gate = asyncio.Semaphore(settings.delivery_concurrency)

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
            pairs = [(item.delivery_id, r) for item, r in zip(batch, results, strict=True)]
            await record_results(session, settings, pairs)
        done += len(batch)
        log.info("deliveries_attempted", count=len(batch))
    return done
