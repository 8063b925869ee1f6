"""Recording attempt results: evidence rows, retry times, endpoint health, events."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.delivery import repository
from notifications.delivery.health import (
    PRODUCER,
    disable_endpoint,
    ensure_email_for,
    should_disable,
)
from notifications.delivery.transport import AttemptResult, Claimed
from notifications.delivery.watch import escalate
from notifications.settings import NotificationsSettings
from services.events.contracts import EncompassNotificationDelivered, EventPayload
from services.events.outbox import emit_many
from services.models.notifications import Delivery, Endpoint, Notification
from services.retry import RetryPolicy
from services.webhooks.schedule import next_attempt_at

log = structlog.get_logger(__name__)


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
    results: Sequence[tuple[Claimed, AttemptResult]],
) -> None:
    """Write every attempt and its consequences (one transaction for the batch).

    Successes, the bulk of a morning, are written with a few set-based statements; failures
    go through the per-row path that reschedules, tracks endpoint health and falls back.
    """
    await _complete_attempts(session, results)
    delivered = [(c, r) for c, r in results if r.outcome == "delivered"]
    others = [(c.delivery_id, r) for c, r in results if r.outcome != "delivered"]
    events = await _record_delivered(session, delivered)
    if others:
        await _record_others(session, settings, others)
    await emit_many(session, events, producer=PRODUCER)


async def _complete_attempts(
    session: AsyncSession, results: Sequence[tuple[Claimed, AttemptResult]]
) -> None:
    """Fill in the attempt rows written ("sending") when the deliveries were claimed."""
    completed: list[tuple[int, AttemptResult]] = []
    for c, r in results:
        # Every claim writes its attempt row before the send (`dispatch._open_attempts`).
        assert c.attempt_id is not None
        completed.append((c.attempt_id, r))
    await repository.complete_attempts(session, completed)


async def _record_delivered(
    session: AsyncSession, items: Sequence[tuple[Claimed, AttemptResult]]
) -> list[EventPayload]:
    if not items:
        return []
    await repository.mark_delivered(
        session, [(c.delivery_id, r.attempted_at, r.status_code) for c, r in items]
    )
    await repository.reset_failures(
        session, sorted({c.endpoint_id for c, _ in items if c.endpoint_id})
    )
    first: dict[uuid.UUID, datetime] = {}
    for c, r in items:
        if c.notification_id and c.kind in repository.ALERT_KINDS:
            first[c.notification_id] = min(
                r.attempted_at, first.get(c.notification_id, r.attempted_at)
            )
    if not first:
        return []
    marked = await repository.mark_notifications_delivered(session, first)
    return [
        EncompassNotificationDelivered(
            notification_id=row.id,
            incident_id=row.incident_id,
            school_urn=row.school_urn,
            deadline_at=row.deadline_at,
            at=row.delivered_at,
        )
        for row in marked
    ]


async def _record_others(
    session: AsyncSession,
    settings: NotificationsSettings,
    results: Sequence[tuple[uuid.UUID, AttemptResult]],
) -> None:
    deliveries = await repository.deliveries_by_id(session, [i for i, _ in results])
    # Locked in id order, so workers recording batches that share endpoints or
    # notifications queue behind each other instead of deadlocking.
    endpoints = await repository.endpoints_by_id(
        session, {d.endpoint_id for d in deliveries.values() if d.endpoint_id}, lock=True
    )
    notifications = await repository.lock_notifications(
        session, {d.notification_id for d in deliveries.values() if d.notification_id}
    )
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
    """Record one attempt that did not deliver (deliveries are written set-based, above)."""
    delivery.attempts += 1
    delivery.leased_by = None
    delivery.last_status_code, delivery.last_error = result.status_code, result.error
    now = result.attempted_at
    if result.outcome == "gone" and endpoint is not None:
        delivery.status, delivery.next_attempt_at = "failed", None
        if endpoint.enabled:
            await disable_endpoint(
                session, settings, endpoint, reason="the receiver answered 410 Gone", now=now
            )
        if notification is not None:
            await ensure_email_for(session, settings, notification, kind="fallback", now=now)
    else:
        await _failed(session, settings, delivery, endpoint, notification, result)


def _alert_email_past_fallback(delivery: Delivery, now: datetime) -> bool:
    if delivery.channel != "email" or delivery.kind not in repository.ALERT_KINDS:
        return False
    return delivery.next_attempt_at is None or (
        delivery.fallback_at is not None and now >= delivery.fallback_at
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
    if delivery.kind == "escalation":
        # The escalation is recorded (the notification's status, the unacknowledged report),
        # but the duty manager has not been told: their email goes through the same mail
        # server. This line says so as it happens (ids only).
        log.warning(
            "escalation_email_not_sent",
            notification_id=str(delivery.notification_id),
            attempts=delivery.attempts,
            given_up=delivery.next_attempt_at is None,
        )
    if notification is not None and _alert_email_past_fallback(delivery, now):
        # The mail server keeps failing and the webhook (if any) did not land by the fallback
        # point: nothing has reached the school, so the duty manager hears now, not at the
        # escalation lead. The email keeps being retried until it gives up.
        if notification.delivered_at is None and notification.acknowledged_at is None:
            await escalate(session, settings, notification, now)
    if endpoint is None:
        return
    endpoint.consecutive_failures += 1
    endpoint.failing_since = endpoint.failing_since or now
    if endpoint.enabled and should_disable(endpoint, settings, now):
        await disable_endpoint(
            session, settings, endpoint, reason="consecutive delivery failures", now=now
        )
