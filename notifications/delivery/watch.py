"""Deadline watch: email fallback, escalation to the duty manager, first-day-back digests.

Runs as a periodic job (`delivery.jobs.watch_deadlines`); each pass locks the rows it acts
on with SKIP LOCKED so several workers never act twice, and each action records its time on
the notification.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from notifications.delivery import messages, repository
from notifications.delivery.health import PRODUCER, ensure_email_for
from notifications.delivery.queue import add_email, page_url, school_recipients
from notifications.settings import NotificationsSettings
from services.events.contracts import EncompassEscalated
from services.events.outbox import emit
from services.models.notifications import Notification, School

# Rows handled per pass of each rule: bounded work per transaction.
_PASS_LIMIT = 500
# Give the first webhook attempt a moment before an immediate fallback is considered.
_FIRST_ATTEMPT_GRACE = timedelta(seconds=30)


async def fallback_emails(
    session: AsyncSession, settings: NotificationsSettings, now: datetime
) -> int:
    """Email where no webhook was acknowledged (2xx) by the fallback lead before the deadline."""
    lead = timedelta(seconds=settings.fallback_lead_seconds)
    rows = await repository.due_fallbacks(
        session, now=now, lead=lead, grace=_FIRST_ATTEMPT_GRACE, limit=_PASS_LIMIT
    )
    count = 0
    for notification in rows:
        notification.fallback_email_at = now
        count += await ensure_email_for(session, settings, notification, kind="fallback", now=now)
    return count


async def escalations(session: AsyncSession, settings: NotificationsSettings, now: datetime) -> int:
    """Nothing acknowledged by the escalation lead before school start: tell the duty manager."""
    lead = timedelta(seconds=settings.escalation_lead_seconds)
    rows = await repository.due_escalations(session, now=now, lead=lead, limit=_PASS_LIMIT)
    for notification in rows:
        await escalate(session, settings, notification, now)
    return len(rows)


async def escalate(
    session: AsyncSession,
    settings: NotificationsSettings,
    notification: Notification,
    now: datetime,
) -> bool:
    """Tell the duty manager (event and email) once; False when it was already escalated."""
    if notification.escalated_at is not None or notification.deadline_at is None:
        return False
    notification.escalated_at = now
    await emit(
        session,
        EncompassEscalated(
            notification_id=notification.id,
            school_urn=notification.school_urn,
            deadline_at=notification.deadline_at,
            at=now,
        ),
        producer=PRODUCER,
    )
    subject, text = messages.escalation_email(
        notification_id=notification.id,
        school_urn=notification.school_urn,
        deadline_at=notification.deadline_at,
        zone=settings.timezone,
        detail_url=page_url(settings, notification.id),
    )
    add_email(
        session,
        settings,
        kind="escalation",
        recipients=[settings.duty_manager_email],
        subject=subject,
        text=text,
        now=now,
        notification_id=notification.id,
        school_urn=notification.school_urn,
    )
    return True


async def digests(session: AsyncSession, settings: NotificationsSettings, now: datetime) -> int:
    """On the morning back, one email per school listing the holiday's notifications again."""
    lead = timedelta(seconds=settings.fallback_lead_seconds)
    rows = await repository.due_digests(session, now=now, lead=lead, limit=_PASS_LIMIT)
    by_school: dict[str, list[tuple[Notification, datetime]]] = defaultdict(list)
    for notification, incident_at in rows:
        notification.digest_sent_at = now
        if notification.school_urn:
            by_school[notification.school_urn].append((notification, incident_at))
    for urn, items in by_school.items():
        school = await session.get_one(School, urn)
        subject, text = messages.digest_email(
            school_urn=urn,
            items=[
                (n.id, messages.local_date(at, settings.timezone), page_url(settings, n.id))
                for n, at in items
            ],
        )
        add_email(
            session,
            settings,
            kind="digest",
            recipients=school_recipients(school),
            subject=subject,
            text=text,
            now=now,
            school_urn=urn,
        )
    return len(by_school)
