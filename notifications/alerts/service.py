"""The schools' side: their notifications, the audited detail, acknowledgement, welfare checks;
and the council's operations: delivery evidence, resend, and the unacknowledged report."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.alerts import repository
from notifications.alerts.schemas import (
    AttemptRead,
    ChildDetail,
    CorrectionRead,
    DeliveryRead,
    NotificationDetail,
    NotificationSummary,
    ResendResult,
    SchoolReportRow,
    Status,
    WelfareCheckIn,
    WelfareCheckRead,
)
from notifications.delivery import repository as delivery_repository
from notifications.delivery.messages import DO_NOT_CONTACT_PARENTS, local_date
from notifications.delivery.queue import enqueue_alert
from notifications.exceptions import NotificationNotFound, WelfareCheckInvalid
from notifications.intake.sharing import sharing_for
from notifications.settings import NotificationsSettings, get_notifications_settings
from services import audit
from services.auth import Principal, Role
from services.errors import FieldError
from services.events.contracts import EncompassNotificationAcknowledged
from services.events.outbox import emit
from services.models.notifications import Incident, Notification
from services.models.notifications_extra import WelfareCheck
from services.paging import Page, decode_cursor, page_of

SERVICE = "notifications"
_FUTURE_TOLERANCE = timedelta(minutes=5)


def status_of(n: Notification) -> Status:
    if n.welfare_check_at is not None:
        return "welfare_checked"
    if n.acknowledged_at is not None:
        return "acknowledged"
    if n.escalated_at is not None:
        return "escalated"
    return "delivered" if n.delivered_at is not None else "pending"


def _zone() -> str:
    return get_notifications_settings().timezone


def summary(n: Notification, incident_at: datetime, zone: str | None = None) -> NotificationSummary:
    """The incident's date is the council's local date (see `messages.local_date`)."""
    return NotificationSummary(
        id=n.id,
        school_urn=n.school_urn,
        route="school" if n.route == "school" else "ehe",
        incident_date=local_date(incident_at, zone or _zone()),
        deadline_at=n.deadline_at,
        in_holiday=n.in_holiday,
        status=status_of(n),
        delivered_at=n.delivered_at,
        acknowledged_at=n.acknowledged_at,
        welfare_check_at=n.welfare_check_at,
        escalated_at=n.escalated_at,
        created_at=n.created_at,
    )


async def list_notifications(
    session: AsyncSession,
    principal: Principal,
    *,
    unacknowledged: bool,
    limit: int,
    cursor: str | None,
) -> Page[NotificationSummary]:
    """Newest first, keyset-paged on (created_at, id) (`services.paging`)."""
    query = (
        select(Notification, Incident.incident_at)
        .join(Incident, Incident.id == Notification.incident_id)
        .where(Incident.council_id == principal.council_id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit + 1)
    )
    if cursor is not None:
        after = decode_cursor(cursor, (datetime, uuid.UUID))
        query = query.where(tuple_(Notification.created_at, Notification.id) < tuple_(*after))
    if principal.role != Role.admin:
        query = query.where(Notification.school_urn == principal.school_urn)
    if unacknowledged:
        query = query.where(Notification.acknowledged_at.is_(None))
    rows = (await session.execute(query)).all()
    page = page_of(rows, limit=limit, key=lambda row: (row[0].created_at, row[0].id))
    return Page[NotificationSummary](
        items=[summary(n, at) for n, at in page.items], limit=limit, next_cursor=page.next_cursor
    )


async def _visible(
    session: AsyncSession, principal: Principal, notification_id: uuid.UUID, *, lock: bool = False
) -> tuple[Notification, Incident]:
    row = await repository.notification_with_incident(session, notification_id, lock=lock)
    if row is None:
        raise NotificationNotFound()
    notification, incident = row
    if incident.council_id != principal.council_id:  # another council's admin sees nothing
        raise NotificationNotFound()
    if principal.role != Role.admin and notification.school_urn != principal.school_urn:
        raise NotificationNotFound()
    return notification, incident


async def get_detail(
    session: AsyncSession, principal: Principal, notification_id: uuid.UUID
) -> NotificationDetail:
    notification, incident = await _visible(session, principal, notification_id)
    share = await sharing_for(session, incident.council_id, incident.force_id)
    child = ChildDetail(
        given_name=notification.given_name if share.share_name else None,
        family_name=notification.family_name if share.share_name else None,
        date_of_birth=notification.date_of_birth if share.share_date_of_birth else None,
        present=notification.present if share.share_present else None,
        spoken_to=notification.spoken_to if share.share_spoken_to else None,
        child_voice=notification.child_voice if share.share_child_voice else None,
    )
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="notification.read",
        entity_id=notification.id,
    )
    base = summary(notification, incident.incident_at).model_dump()
    return NotificationDetail(
        **base,
        incident_at=incident.incident_at,
        police_force=incident.force_id,
        police_reference=incident.police_reference,
        area=incident.area if share.share_circumstances else None,
        circumstances=incident.circumstances if share.share_circumstances else None,
        adult_roles=list(incident.adult_roles) if share.share_circumstances else None,
        child=child,
        acknowledged_by=notification.acknowledged_by,
        welfare_check_by=notification.welfare_check_by,
        welfare_check_outcome=notification.welfare_check_outcome,
        welfare_checks=[
            WelfareCheckRead.model_validate(c)
            for c in await repository.welfare_checks(session, notification.id)
        ],
        reminder=DO_NOT_CONTACT_PARENTS,
    )


async def _mark_acknowledged(
    session: AsyncSession, principal: Principal, notification: Notification, now: datetime
) -> None:
    if notification.acknowledged_at is not None:
        return
    notification.acknowledged_at, notification.acknowledged_by = now, principal.sub
    await emit(
        session,
        EncompassNotificationAcknowledged(
            notification_id=notification.id,
            incident_id=notification.incident_id,
            school_urn=notification.school_urn,
            deadline_at=notification.deadline_at,
            at=now,
        ),
        producer=SERVICE,
    )


async def acknowledge(
    session: AsyncSession, principal: Principal, notification_id: uuid.UUID
) -> NotificationSummary:
    """Idempotent: a second acknowledgement keeps the first one's time and person."""
    notification, incident = await _visible(session, principal, notification_id, lock=True)
    await _mark_acknowledged(session, principal, notification, datetime.now(UTC))
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="notification.acknowledge",
        entity_id=notification.id,
    )
    return summary(notification, incident.incident_at)


async def record_welfare_check(
    session: AsyncSession, principal: Principal, notification_id: uuid.UUID, data: WelfareCheckIn
) -> NotificationSummary:
    notification, incident = await _visible(session, principal, notification_id, lock=True)
    now = datetime.now(UTC)
    if data.done_at > now + _FUTURE_TOLERANCE:
        raise WelfareCheckInvalid(fields=[FieldError(path="done_at", reason="is in the future")])
    if data.done_at < incident.incident_at:
        reason = "is before the incident"
        raise WelfareCheckInvalid(fields=[FieldError(path="done_at", reason=reason)])
    await _mark_acknowledged(session, principal, notification, now)
    await _add_welfare_check(session, principal, notification, data)
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="notification.welfare_check",
        entity_id=notification.id,
    )
    return summary(notification, incident.incident_at)


async def _add_welfare_check(
    session: AsyncSession, principal: Principal, notification: Notification, data: WelfareCheckIn
) -> None:
    """Each check is kept as history; the same check sent again (a retry) is kept once.

    The notification carries the latest check by the time it was done, for its status and the
    reports; an earlier check recorded late does not replace a later one there.
    """
    checks = await repository.welfare_checks(session, notification.id)
    if any(
        (c.done_at, c.done_by, c.outcome) == (data.done_at, data.done_by, data.outcome)
        for c in checks
    ):
        return
    session.add(
        WelfareCheck(
            id=uuid.uuid4(),
            notification_id=notification.id,
            done_at=data.done_at,
            done_by=data.done_by,
            outcome=data.outcome,
            recorded_by=principal.sub,
        )
    )
    latest = notification.welfare_check_at
    if latest is None or data.done_at >= latest:
        notification.welfare_check_at = data.done_at
        notification.welfare_check_by = data.done_by
        notification.welfare_check_outcome = data.outcome


async def list_welfare_checks(
    session: AsyncSession, principal: Principal, notification_id: uuid.UUID
) -> list[WelfareCheckRead]:
    """Every welfare check on a notification, oldest first (this read is audited)."""
    notification, _ = await _visible(session, principal, notification_id)
    checks = await repository.welfare_checks(session, notification.id)
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="notification.welfare_checks_read",
        entity_id=notification.id,
    )
    return [WelfareCheckRead.model_validate(c) for c in checks]


async def list_corrections(
    session: AsyncSession, principal: Principal, notification_id: uuid.UUID
) -> list[CorrectionRead]:
    """The police's corrections of a notification, oldest first (this read is audited)."""
    notification, _ = await _visible(session, principal, notification_id)
    rows = await repository.corrections(session, notification.id)
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="notification.corrections_read",
        entity_id=notification.id,
    )
    return [CorrectionRead.model_validate(c) for c in rows]


async def list_attempts(
    session: AsyncSession, principal: Principal, notification_id: uuid.UUID
) -> list[DeliveryRead]:
    await _visible(session, principal, notification_id)
    deliveries = await delivery_repository.deliveries_of(session, notification_id)
    attempts = await delivery_repository.attempts_of(session, [d.id for d in deliveries])
    return [
        DeliveryRead(
            id=d.id,
            channel=d.channel,
            kind=d.kind,
            endpoint_id=d.endpoint_id,
            webhook_id=d.message_id,
            status=d.status,
            attempts=d.attempts,
            next_attempt_at=d.next_attempt_at,
            delivered_at=d.delivered_at,
            last_error=d.last_error,
            attempt_log=[
                AttemptRead.model_validate(a, from_attributes=True)
                for a in attempts
                if a.delivery_id == d.id
            ],
        )
        for d in deliveries
    ]


async def resend(
    session: AsyncSession,
    principal: Principal,
    settings: NotificationsSettings,
    notification_id: uuid.UUID,
) -> ResendResult:
    """Requeue its alert webhooks (same `webhook-id`); queue afresh where none is enabled."""
    notification, incident = await _visible(session, principal, notification_id, lock=True)
    now = datetime.now(UTC)
    give_up = now + timedelta(seconds=settings.give_up_after_deadline_seconds)
    requeued = await delivery_repository.requeue_notification_alerts(
        session, notification.id, now=now, give_up_at=give_up
    )
    queued_new = 0
    if not requeued and notification.school_urn is not None:
        school = await repository.get_school(session, notification.school_urn)
        created = await enqueue_alert(
            session,
            settings,
            notification=notification,
            school=school,
            incident_at=incident.incident_at,
            now=now,
        )
        queued_new = len(created)
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="notification.resend",
        entity_id=notification.id,
    )
    return ResendResult(requeued=requeued, queued_new=queued_new)


async def unacknowledged_report(
    session: AsyncSession, *, council_id: str
) -> Sequence[SchoolReportRow]:
    rows = await repository.unacknowledged_by_school(
        session, council_id=council_id, now=datetime.now(UTC)
    )
    return [
        SchoolReportRow(
            school_urn=urn,
            school_name=name,
            open_notifications=total,
            unacknowledged=unack,
            overdue_unacknowledged=overdue,
            escalated=escalated,
            awaiting_welfare_check=awaiting,
            oldest_unacknowledged_deadline=oldest,
        )
        for urn, name, total, unack, overdue, escalated, awaiting, oldest in rows
    ]
