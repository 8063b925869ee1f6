"""Putting messages on the delivery queue (rows with `next_attempt_at`), inside the caller's
transaction. The dispatcher sends them; nothing here does I/O beyond the session (new rows are
added to it; the one query, the school's enabled endpoints, is in `repository`).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from notifications.delivery import messages, repository
from notifications.settings import NotificationsSettings
from services.models.notifications import Delivery, DeliveryKind, Endpoint, Notification, School
from services.webhooks.signing import message_id_for


def detail_url(settings: NotificationsSettings, notification_id: uuid.UUID) -> str:
    """The API's detail (in webhooks, for a school's system to fetch)."""
    return settings.link(f"/v1/notifications/{notification_id}")


def page_url(settings: NotificationsSettings, notification_id: uuid.UUID) -> str:
    """The page a DSL's email links to (it asks them to sign in first if they need to)."""
    return settings.link(f"/school/notifications/{notification_id}")


def _give_up_at(
    settings: NotificationsSettings, deadline: datetime | None, now: datetime
) -> datetime:
    base = deadline if deadline and deadline > now else now
    return base + timedelta(seconds=settings.give_up_after_deadline_seconds)


def school_recipients(school: School) -> list[str]:
    return [e for e in (school.dsl_email, school.deputy_email) if e]


def add_email(
    session: AsyncSession,
    settings: NotificationsSettings,
    *,
    kind: DeliveryKind,
    recipients: list[str],
    subject: str,
    text: str,
    now: datetime,
    notification_id: uuid.UUID | None = None,
    school_urn: str | None = None,
    deadline_at: datetime | None = None,
    fallback_at: datetime | None = None,
) -> Delivery | None:
    if not recipients:
        return None
    delivery = Delivery(
        id=uuid.uuid4(),
        notification_id=notification_id,
        school_urn=school_urn,
        channel="email",
        kind=kind,
        message_id=f"msg_{uuid.uuid4().hex}",
        recipients=recipients,
        subject=subject,
        body=text,
        next_attempt_at=now,
        fallback_at=fallback_at,
        deadline_at=deadline_at,
        give_up_at=_give_up_at(settings, deadline_at, now),
    )
    session.add(delivery)
    return delivery


def fallback_point(settings: NotificationsSettings, deadline: datetime | None) -> datetime | None:
    """Where a webhook falls back to email, and an alert email still failing is escalated."""
    return deadline - timedelta(seconds=settings.fallback_lead_seconds) if deadline else None


def alert_email(
    session: AsyncSession,
    settings: NotificationsSettings,
    *,
    notification: Notification,
    school: School,
    incident_at: datetime,
    kind: DeliveryKind,
    now: datetime,
) -> Delivery | None:
    subject, text = messages.alert_email(
        school_urn=school.urn,
        notification_id=notification.id,
        incident_date=messages.local_date(incident_at, settings.timezone),
        detail_url=page_url(settings, notification.id),
        corrected=kind == "correction",
    )
    return add_email(
        session,
        settings,
        kind=kind,
        recipients=school_recipients(school),
        subject=subject,
        text=text,
        now=now,
        notification_id=notification.id,
        school_urn=school.urn,
        deadline_at=notification.deadline_at,
        fallback_at=fallback_point(settings, notification.deadline_at),
    )


def add_webhook(
    session: AsyncSession,
    settings: NotificationsSettings,
    *,
    notification: Notification,
    endpoint: Endpoint,
    incident_at: datetime,
    now: datetime,
    correction_id: uuid.UUID | None = None,
) -> Delivery:
    """The alert webhook; a correction's has its own `webhook-id` (it is a new message)."""
    assert notification.school_urn is not None
    deadline = notification.deadline_at
    body = messages.webhook_body(
        notification_id=notification.id,
        school_urn=notification.school_urn,
        incident_date=messages.local_date(incident_at, settings.timezone),
        deadline_at=deadline,
        detail_url=detail_url(settings, notification.id),
        now=now,
        corrected=correction_id is not None,
    )
    message_id = message_id_for(notification.id, endpoint.id)
    if correction_id is not None:
        message_id = message_id_for(correction_id, endpoint.id)
    fallback = fallback_point(settings, deadline)
    delivery = Delivery(
        id=uuid.uuid4(),
        notification_id=notification.id,
        school_urn=notification.school_urn,
        channel="webhook",
        kind="alert" if correction_id is None else "correction",
        endpoint_id=endpoint.id,
        message_id=message_id,
        body=body,
        next_attempt_at=now,
        fallback_at=fallback,
        deadline_at=deadline,
        give_up_at=_give_up_at(settings, deadline, now),
    )
    session.add(delivery)
    return delivery


async def enqueue_alert(
    session: AsyncSession,
    settings: NotificationsSettings,
    *,
    notification: Notification,
    school: School,
    incident_at: datetime,
    now: datetime,
    endpoints: list[Endpoint] | None = None,
    correction_id: uuid.UUID | None = None,
) -> list[Delivery]:
    """Webhook and/or email per the school's preference; email when no endpoint is enabled.

    With `correction_id`, the same again for a correction (new message ids, "Corrected").
    """
    if endpoints is None:
        endpoints = await repository.enabled_endpoints(session, school.urn)
    out: list[Delivery] = []
    if school.delivery_preference in ("webhook", "both"):
        for endpoint in endpoints:
            out.append(
                add_webhook(
                    session,
                    settings,
                    notification=notification,
                    endpoint=endpoint,
                    incident_at=incident_at,
                    now=now,
                    correction_id=correction_id,
                )
            )
    if school.delivery_preference in ("email", "both") or not out:
        email = alert_email(
            session,
            settings,
            notification=notification,
            school=school,
            incident_at=incident_at,
            kind="alert" if correction_id is None else "correction",
            now=now,
        )
        if email is not None:
            out.append(email)
    return out
