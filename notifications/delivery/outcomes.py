"""Recording attempt results: evidence rows, retry times, endpoint health, events."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import (
    ARRAY,
    DateTime,
    Table,
    Uuid,
    bindparam,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

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
from services.models.notifications import Attempt, Delivery, Endpoint, Notification
from services.retry import RetryPolicy
from services.webhooks.schedule import next_attempt_at


def retry_policy(settings: NotificationsSettings) -> RetryPolicy:
    return RetryPolicy(
        steps=settings.retry_schedule,
        repeat=settings.retry_repeat_seconds,
        jitter=settings.retry_jitter,
        max_retry_after=settings.max_retry_after_seconds,
    )


_MARK_NOTIFICATIONS_DELIVERED = text(
    "UPDATE notif_notifications AS n SET delivered_at = v.at "
    "FROM unnest(:ids, :ats) AS v(id, at) "
    "WHERE n.id = v.id AND n.delivered_at IS NULL "
    "RETURNING n.id, n.incident_id, n.school_urn, n.deadline_at, n.delivered_at"
).bindparams(
    bindparam("ids", type_=ARRAY(Uuid())), bindparam("ats", type_=ARRAY(DateTime(timezone=True)))
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


def _attempt_row(delivery_id: uuid.UUID, result: AttemptResult) -> dict[str, object]:
    return {
        "delivery_id": delivery_id,
        "attempted_at": result.attempted_at,
        "status_code": result.status_code,
        "latency_ms": result.latency_ms,
        "outcome": result.outcome,
        "error": result.error,
        "response_excerpt": result.response_excerpt,
    }


async def _complete_attempts(
    session: AsyncSession, results: Sequence[tuple[Claimed, AttemptResult]]
) -> None:
    """Fill in the attempt rows written before the sends (or write them, for a send that was
    claimed without one)."""
    opened = [(c, r) for c, r in results if c.attempt_id is not None]
    if opened:
        table = cast(Table, Attempt.__table__)
        await session.execute(
            update(table)
            .where(table.c.id == bindparam("a_id"))
            .values(
                attempted_at=bindparam("a_at"),
                status_code=bindparam("a_code"),
                latency_ms=bindparam("a_ms"),
                outcome=bindparam("a_outcome"),
                error=bindparam("a_error"),
                response_excerpt=bindparam("a_excerpt"),
            ),
            [
                {
                    "a_id": c.attempt_id,
                    "a_at": r.attempted_at,
                    "a_code": r.status_code,
                    "a_ms": r.latency_ms,
                    "a_outcome": r.outcome,
                    "a_error": r.error,
                    "a_excerpt": r.response_excerpt,
                }
                for c, r in opened
            ],
        )
    unopened = [_attempt_row(c.delivery_id, r) for c, r in results if c.attempt_id is None]
    if unopened:
        await session.execute(insert(Attempt), unopened)


async def _record_delivered(
    session: AsyncSession, items: Sequence[tuple[Claimed, AttemptResult]]
) -> list[EventPayload]:
    if not items:
        return []
    table = cast(Table, Delivery.__table__)
    await session.execute(
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(
            status="delivered",
            delivered_at=bindparam("b_at"),
            next_attempt_at=None,
            attempts=table.c.attempts + 1,
            last_status_code=bindparam("b_code"),
            last_error=None,
            leased_by=None,
        ),
        [
            {"b_id": c.delivery_id, "b_at": r.attempted_at, "b_code": r.status_code}
            for c, r in items
        ],
    )
    endpoint_ids = sorted({c.endpoint_id for c, _ in items if c.endpoint_id})
    if endpoint_ids:
        await session.execute(
            update(Endpoint)
            .where(
                Endpoint.id.in_(endpoint_ids),
                (Endpoint.consecutive_failures > 0) | Endpoint.failing_since.is_not(None),
            )
            .values(consecutive_failures=0, failing_since=None)
            .execution_options(synchronize_session=False)
        )
    first: dict[uuid.UUID, datetime] = {}
    for c, r in items:
        if c.notification_id and c.kind in ("alert", "fallback"):
            first[c.notification_id] = min(
                r.attempted_at, first.get(c.notification_id, r.attempted_at)
            )
    if not first:
        return []
    ids = sorted(first)
    # Lock in id order first: two workers marking the same notifications never deadlock.
    await session.execute(
        select(Notification.id)
        .where(Notification.id.in_(ids))
        .order_by(Notification.id)
        .with_for_update()
    )
    marked = await session.execute(
        _MARK_NOTIFICATIONS_DELIVERED, {"ids": ids, "ats": [first[i] for i in ids]}
    )
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
    ids = [delivery_id for delivery_id, _ in results]
    deliveries = {
        d.id: d for d in await session.scalars(select(Delivery).where(Delivery.id.in_(ids)))
    }
    endpoint_ids = {d.endpoint_id for d in deliveries.values() if d.endpoint_id}
    notification_ids = {d.notification_id for d in deliveries.values() if d.notification_id}
    # Locked in id order, so workers recording batches that share endpoints or
    # notifications queue behind each other instead of deadlocking.
    endpoints = {
        e.id: e
        for e in await session.scalars(
            select(Endpoint)
            .where(Endpoint.id.in_(endpoint_ids))
            .order_by(Endpoint.id)
            .with_for_update()
        )
    }
    notifications = {
        n.id: n
        for n in await session.scalars(
            select(Notification)
            .where(Notification.id.in_(notification_ids))
            .order_by(Notification.id)
            .with_for_update()
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
    if delivery.channel != "email" or delivery.kind not in ("alert", "fallback"):
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
