"""Endpoint health: disabling a failing or gone endpoint, never silently.

Disabling abandons the endpoint's pending webhooks, sends their notifications by email
instead, switches the school to email when it has no other endpoint, emits
`encompass.endpoint_disabled` and emails the council admin.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from notifications.delivery import messages, repository
from notifications.delivery.queue import add_email, alert_email
from notifications.settings import NotificationsSettings
from services.events.contracts import EncompassEndpointDisabled
from services.events.outbox import emit
from services.models.notifications import DeliveryKind, Endpoint, Incident, Notification, School

PRODUCER = "notifications"


async def ensure_email_for(
    session: AsyncSession,
    settings: NotificationsSettings,
    notification: Notification,
    *,
    kind: DeliveryKind,
    now: datetime,
) -> bool:
    """Queue the alert email unless one is pending or sent; True when one was queued."""
    if notification.school_urn is None or notification.acknowledged_at is not None:
        return False
    if await repository.has_alert_email(session, notification.id):
        return False
    school = await session.get_one(School, notification.school_urn)
    incident = await session.get_one(Incident, notification.incident_id)
    queued = alert_email(
        session,
        settings,
        notification=notification,
        school=school,
        incident_at=incident.incident_at,
        kind=kind,
        now=now,
    )
    if queued is not None:
        notification.fallback_email_at = now
    return queued is not None


async def disable_endpoint(
    session: AsyncSession,
    settings: NotificationsSettings,
    endpoint: Endpoint,
    *,
    reason: str,
    now: datetime,
) -> None:
    endpoint.enabled, endpoint.disabled_reason, endpoint.disabled_at = False, reason, now
    await session.flush()
    abandoned = await repository.abandon_endpoint_pending(
        session, endpoint.id, reason="endpoint disabled"
    )
    if not await repository.enabled_endpoints(session, endpoint.school_urn):
        school = await session.get_one(School, endpoint.school_urn)
        if school.delivery_preference != "email":
            school.preference_before_fallback = school.delivery_preference
            school.delivery_preference = "email"
    await session.flush()
    for notification_id in {n for n in abandoned if n is not None}:
        notification = await session.get_one(Notification, notification_id)
        await ensure_email_for(session, settings, notification, kind="fallback", now=now)
    await emit(
        session,
        EncompassEndpointDisabled(
            endpoint_id=endpoint.id, school_urn=endpoint.school_urn, reason=reason, at=now
        ),
        producer=PRODUCER,
    )
    subject, text = messages.endpoint_disabled_email(
        endpoint_id=endpoint.id, school_urn=endpoint.school_urn, reason=reason
    )
    add_email(
        session,
        settings,
        kind="admin_alert",
        recipients=[settings.admin_email],
        subject=subject,
        text=text,
        now=now,
        school_urn=endpoint.school_urn,
    )


async def enable_endpoint(session: AsyncSession, endpoint: Endpoint) -> None:
    """Back in service: failures forgotten, and the school back on the preference it had
    before its last endpoint was disabled (one it chose itself is left alone)."""
    endpoint.enabled, endpoint.disabled_reason, endpoint.disabled_at = True, None, None
    endpoint.consecutive_failures, endpoint.failing_since = 0, None
    school = await session.get_one(School, endpoint.school_urn)
    if school.preference_before_fallback is not None:
        school.delivery_preference = school.preference_before_fallback
        school.preference_before_fallback = None


def should_disable(endpoint: Endpoint, settings: NotificationsSettings, now: datetime) -> bool:
    """Enough consecutive failures, spread over at least the configured window."""
    if endpoint.failing_since is None:
        return False
    window = (now - endpoint.failing_since).total_seconds()
    return (
        endpoint.consecutive_failures >= settings.failure_disable_min_failures
        and window >= settings.failure_disable_window_seconds
    )
