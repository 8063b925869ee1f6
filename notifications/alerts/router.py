"""HTTP layer of the schools' side and of delivery operations."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query

from notifications.alerts import service
from notifications.alerts.schemas import (
    CorrectionRead,
    DeliveryRead,
    NotificationDetail,
    NotificationSummary,
    ResendResult,
    SchoolReportRow,
    WelfareCheckIn,
    WelfareCheckRead,
)
from notifications.dependencies import AdminUser, DirectoryUser, SchoolUser, SettingsDep
from notifications.exceptions import NotificationNotFound, WelfareCheckInvalid
from services.db import SessionDep
from services.errors import error_responses
from services.paging import MAX_CURSOR_LENGTH, CursorInvalid, Page
from services.types import SafeStr

NotificationId = Annotated[
    uuid.UUID,
    Path(
        description="The notification's id: from the list, the webhook's `notification_id` "
        "or the alert email's link."
    ),
]

router = APIRouter(prefix="/v1", tags=["school notifications"])
_NOT_FOUND = error_responses(NotificationNotFound)


@router.get(
    "/notifications",
    response_model=Page[NotificationSummary],
    responses=error_responses(CursorInvalid),
)
async def list_school_notifications(
    session: SessionDep,
    principal: DirectoryUser,
    unacknowledged: bool = Query(False, description="Only those not yet acknowledged"),
    limit: int = Query(100, ge=1, le=500),
    cursor: SafeStr | None = Query(
        None, max_length=MAX_CURSOR_LENGTH, description="`next_cursor` of the previous page."
    ),
) -> Page[NotificationSummary]:
    """Your school's notifications, newest first (ids, dates and states only), a page at a
    time: pass `next_cursor` back as `cursor` for the next page."""
    return await service.list_notifications(
        session, principal, unacknowledged=unacknowledged, limit=limit, cursor=cursor
    )


@router.get(
    "/notifications/{notification_id}", response_model=NotificationDetail, responses=_NOT_FOUND
)
async def get_school_notification(
    session: SessionDep, principal: DirectoryUser, notification_id: NotificationId
) -> NotificationDetail:
    """The detail the police force shares with schools (this read is audited)."""
    return await service.get_detail(session, principal, notification_id)


@router.post(
    "/notifications/{notification_id}/acknowledge",
    response_model=NotificationSummary,
    responses=_NOT_FOUND,
)
async def acknowledge_notification(
    session: SessionDep, principal: SchoolUser, notification_id: NotificationId
) -> NotificationSummary:
    """The DSL has seen it (idempotent)."""
    return await service.acknowledge(session, principal, notification_id)


@router.post(
    "/notifications/{notification_id}/welfare-check",
    response_model=NotificationSummary,
    responses=error_responses(NotificationNotFound, WelfareCheckInvalid),
)
async def record_welfare_check(
    session: SessionDep,
    principal: SchoolUser,
    notification_id: NotificationId,
    body: WelfareCheckIn,
) -> NotificationSummary:
    """Record that the welfare check happened: when, by whom, and its outcome."""
    return await service.record_welfare_check(session, principal, notification_id, body)


@router.get(
    "/notifications/{notification_id}/welfare-checks",
    response_model=list[WelfareCheckRead],
    responses=_NOT_FOUND,
)
async def list_welfare_checks(
    session: SessionDep, principal: DirectoryUser, notification_id: NotificationId
) -> list[WelfareCheckRead]:
    """Every welfare check recorded on this notification, oldest first (audited)."""
    return await service.list_welfare_checks(session, principal, notification_id)


@router.get(
    "/notifications/{notification_id}/corrections",
    response_model=list[CorrectionRead],
    responses=_NOT_FOUND,
)
async def list_notification_corrections(
    session: SessionDep, principal: AdminUser, notification_id: NotificationId
) -> list[CorrectionRead]:
    """The police's corrections of this notification: fields, previous values (audited)."""
    return await service.list_corrections(session, principal, notification_id)


@router.get(
    "/notifications/{notification_id}/attempts",
    response_model=list[DeliveryRead],
    responses=_NOT_FOUND,
)
async def list_notification_attempts(
    session: SessionDep, principal: AdminUser, notification_id: NotificationId
) -> list[DeliveryRead]:
    """Every delivery of this notification and every attempt: time, status, latency, reply."""
    return await service.list_attempts(session, principal, notification_id)


@router.post(
    "/notifications/{notification_id}/resend", response_model=ResendResult, responses=_NOT_FOUND
)
async def resend_notification(
    session: SessionDep,
    principal: AdminUser,
    settings: SettingsDep,
    notification_id: NotificationId,
) -> ResendResult:
    """Send this notification again (webhooks keep their `webhook-id`)."""
    return await service.resend(session, principal, settings, notification_id)


@router.get("/encompass/reports/unacknowledged", response_model=list[SchoolReportRow])
async def report_unacknowledged_notifications(
    session: SessionDep, principal: AdminUser
) -> list[SchoolReportRow]:
    """Per school: open, unacknowledged, overdue, escalated, awaiting a welfare check."""
    return list(await service.unacknowledged_report(session, council_id=principal.council_id))
