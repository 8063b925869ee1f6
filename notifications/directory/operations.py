"""Endpoint operations that send or requeue: the test ping and recovery after an outage.

Their statements on the delivery queue (the ping's attempt row, the requeue) are in
`notifications.delivery.repository`; the endpoint itself is read through the directory's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from notifications.delivery import messages
from notifications.delivery import repository as delivery_repository
from notifications.delivery.dispatch import active_secrets
from notifications.delivery.transport import make_client, post_webhook
from notifications.directory import repository
from notifications.directory.schemas import PingResult
from notifications.directory.service import get_endpoint
from notifications.exceptions import EndpointDisabled
from notifications.settings import NotificationsSettings
from services import audit
from services.auth import Principal
from services.models.notifications import Delivery


async def ping_endpoint(
    session: AsyncSession,
    principal: Principal,
    settings: NotificationsSettings,
    endpoint_id: uuid.UUID,
) -> PingResult:
    """Send a signed `encompass.ping` now and keep the attempt as evidence."""
    endpoint = await get_endpoint(session, principal, endpoint_id)
    now = datetime.now(UTC)
    body = messages.ping_body(endpoint_id=endpoint.id, school_urn=endpoint.school_urn, now=now)
    message_id = f"msg_{uuid.uuid4().hex}"
    async with make_client(settings) as client:
        result = await post_webhook(
            client,
            settings,
            url=endpoint.url,
            secrets=list(active_secrets(endpoint, settings.encryption_key, now)),
            message_id=message_id,
            body=body,
        )
    delivery = Delivery(
        id=uuid.uuid4(),
        school_urn=endpoint.school_urn,
        channel="webhook",
        kind="ping",
        endpoint_id=endpoint.id,
        message_id=message_id,
        body=body,
        status="delivered" if result.outcome == "delivered" else "failed",
        attempts=1,
        next_attempt_at=None,
        last_status_code=result.status_code,
        last_error=result.error,
        delivered_at=now if result.outcome == "delivered" else None,
    )
    session.add(delivery)
    await session.flush()
    await delivery_repository.add_attempts(session, [(delivery.id, result)])
    return PingResult(
        success=result.outcome == "delivered",
        status_code=result.status_code,
        latency_ms=result.latency_ms,
        error=result.error,
        webhook_id=message_id,
    )


async def recover_endpoint(
    session: AsyncSession,
    principal: Principal,
    settings: NotificationsSettings,
    endpoint_id: uuid.UUID,
    since: datetime,
) -> int:
    """Requeue every alert webhook to this endpoint that failed or was abandoned since `since`."""
    endpoint = await get_endpoint(session, principal, endpoint_id)
    if not endpoint.enabled:
        raise EndpointDisabled()
    now = datetime.now(UTC)
    requeued = await delivery_repository.requeue_endpoint_alerts(
        session,
        endpoint.id,
        since=since,
        now=now,
        give_up_at=now + timedelta(seconds=settings.give_up_after_deadline_seconds),
    )
    await audit.record(
        session,
        service="notifications",
        actor=principal,
        action="endpoint.recover",
        entity_type="endpoint",
        entity_id=endpoint.id,
        reason=f"{requeued} requeued",
    )
    return requeued


@dataclass(frozen=True)
class EndpointAttempt:
    """One line of an endpoint's attempts log: evidence of delivery, nothing about a child."""

    attempted_at: datetime
    kind: str
    webhook_id: str
    outcome: str
    status_code: int | None
    latency_ms: int
    error: str | None


# The attempts log shows the recent past: an outage's retries fit well within it.
ATTEMPTS_LOG_LIMIT = 100


async def endpoint_attempts(
    session: AsyncSession,
    principal: Principal,
    endpoint_id: uuid.UUID,
    limit: int = ATTEMPTS_LOG_LIMIT,
) -> list[EndpointAttempt]:
    """The endpoint's recent delivery attempts, newest first (404 beyond the caller's council)."""
    endpoint = await get_endpoint(session, principal, endpoint_id)
    rows = await repository.endpoint_attempts(session, endpoint.id, limit)
    return [
        EndpointAttempt(
            attempted_at=a.attempted_at,
            kind=kind,
            webhook_id=message_id,
            outcome=a.outcome,
            status_code=a.status_code,
            latency_ms=a.latency_ms,
            error=a.error,
        )
        for a, kind, message_id in rows
    ]
