"""Recording attempt results: evidence rows, retry times, endpoint health, events."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.delivery.health import (
    PRODUCER,
    disable_endpoint,
    ensure_email_for,
    should_disable,
)
from notifications.delivery.transport import AttemptResult
from notifications.schedule import RetryPolicy, next_attempt_at
from notifications.settings import NotificationsSettings
from services.events.contracts import EncompassNotificationEvent
from services.events.outbox import emit
from services.models.notifications import Attempt, Delivery, Endpoint, Notification


def retry_policy(settings: NotificationsSettings) -> RetryPolicy:
    return RetryPolicy(
        steps=settings.retry_schedule,
        repeat=settings.retry_repeat_seconds,
        jitter=settings.retry_jitter,
        max_retry_after=settings.max_retry_after_seconds,
    )


async def record_results(
    session: AsyncSession,
    settings: NotificationsSettings,
    results: Sequence[tuple[uuid.UUID, AttemptResult]],
) -> None:
    """Write every attempt and its consequences (one transaction for the batch)."""
    ids = [delivery_id for delivery_id, _ in results]
    deliveries = {
        d.id: d for d in await session.scalars(select(Delivery).where(Delivery.id.in_(ids)))
    }
    endpoint_ids = {d.endpoint_id for d in deliveries.values() if d.endpoint_id}
    endpoints = {
        e.id: e
        for e in await session.scalars(select(Endpoint).where(Endpoint.id.in_(endpoint_ids)))
    }
    notification_ids = {d.notification_id for d in deliveries.values() if d.notification_id}
    notifications = {
        n.id: n
        for n in await session.scalars(
            select(Notification).where(Notification.id.in_(notification_ids))
        )
    }
    for delivery_id, result in results:
        delivery = deliveries[delivery_id]
        endpoint = endpoints.get(delivery.endpoint_id) if delivery.endpoint_id else None
        notification = (
            notifications.get(delivery.notification_id) if delivery.notification_id else None
        )
        await _record_one(session, settings, delivery, endpoint, notification, result)


async def _record_one(
    session: AsyncSession,
    settings: NotificationsSettings,
    delivery: Delivery,
    endpoint: Endpoint | None,
    notification: Notification | None,
    result: AttemptResult,
) -> None:
    session.add(
        Attempt(
            delivery_id=delivery.id,
            attempted_at=result.attempted_at,
            status_code=result.status_code,
            latency_ms=result.latency_ms,
            outcome=result.outcome,
            error=result.error,
            response_excerpt=result.response_excerpt,
        )
    )
    delivery.attempts += 1
    delivery.last_status_code, delivery.last_error = result.status_code, result.error
    now = result.attempted_at
    if result.outcome == "delivered":
        await _delivered(session, delivery, endpoint, notification, now)
    elif result.outcome == "gone" and endpoint is not None:
        delivery.status, delivery.next_attempt_at = "failed", None
        if endpoint.enabled:
            await disable_endpoint(
                session, settings, endpoint, reason="the receiver answered 410 Gone", now=now
            )
        if notification is not None:
            await ensure_email_for(session, settings, notification, kind="fallback", now=now)
    else:
        await _failed(session, settings, delivery, endpoint, notification, result)


async def _delivered(
    session: AsyncSession,
    delivery: Delivery,
    endpoint: Endpoint | None,
    notification: Notification | None,
    now: datetime,
) -> None:
    delivery.status, delivery.delivered_at, delivery.next_attempt_at = "delivered", now, None
    if endpoint is not None:
        endpoint.consecutive_failures, endpoint.failing_since = 0, None
    if notification is None or delivery.kind not in ("alert", "fallback"):
        return
    if notification.delivered_at is None:
        notification.delivered_at = now
        await emit(
            session,
            "encompass.notification.delivered",
            EncompassNotificationEvent(
                notification_id=notification.id,
                incident_id=notification.incident_id,
                school_urn=notification.school_urn,
                deadline_at=notification.deadline_at,
                at=now,
            ),
            producer=PRODUCER,
        )


async def _failed(
    session: AsyncSession,
    settings: NotificationsSettings,
    delivery: Delivery,
    endpoint: Endpoint | None,
    notification: Notification | None,
    result: AttemptResult,
) -> None:
    now = result.attempted_at
    delivery.next_attempt_at = next_attempt_at(
        retry_policy(settings),
        now=now,
        attempts_made=delivery.attempts,
        fallback_at=delivery.fallback_at,
        deadline_at=delivery.deadline_at,
        give_up_at=delivery.give_up_at,
        retry_after=result.retry_after,
    )
    if delivery.next_attempt_at is None:
        delivery.status = "failed"
        if notification is not None and delivery.channel == "webhook":
            await ensure_email_for(session, settings, notification, kind="fallback", now=now)
    if endpoint is None:
        return
    endpoint.consecutive_failures += 1
    endpoint.failing_since = endpoint.failing_since or now
    if endpoint.enabled and should_disable(endpoint, settings, now):
        await disable_endpoint(
            session, settings, endpoint, reason="consecutive delivery failures", now=now
        )
