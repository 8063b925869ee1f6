"""Delivering handovers: each due one claimed (SKIP LOCKED), sent, its attempt recorded.

One transaction per handover: the attempt row and the new state commit together, whether
the attempt succeeded or will be retried, so a restart loses no evidence and no retry.
A 2xx delivers; 410 means the endpoint is gone (no more tries); anything else retries on the
configured schedule (`Retry-After` honoured for 429/503) and, after the last step, the
handover is marked failed for a person to follow up. With no endpoint configured, nothing is
sent and the handover waits.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.db import transaction
from services.models.mash import MashHandover, MashHandoverAttempt
from services.retry import RetryPolicy
from services.webhooks.schedule import next_attempt_at
from services.webhooks.transport import AttemptResult, make_client, post_webhook
from triage.handover import repository
from triage.mash.access import record
from triage.settings import TriageSettings

# With no endpoint configured, look again this often.
UNCONFIGURED_WAIT = timedelta(minutes=5)
BATCH = 20


def policy(settings: TriageSettings) -> RetryPolicy:
    steps = settings.handover_retry_schedule or (0,)
    return RetryPolicy(steps=tuple(steps), repeat=steps[-1], jitter=0.0)


async def _attempt(
    client: httpx.AsyncClient, handover: MashHandover, settings: TriageSettings
) -> AttemptResult:
    assert settings.handover_url is not None
    assert settings.handover_secret is not None
    return await post_webhook(
        client,
        url=settings.handover_url,
        secrets=[settings.handover_secret],
        message_id=handover.message_id,
        body=handover.body,
        require_https=settings.is_production,
        allowed=settings.handover_networks,
        timeout=settings.handover_timeout_seconds,
    )


def _apply(handover: MashHandover, result: AttemptResult, settings: TriageSettings) -> None:
    handover.attempts += 1
    if result.outcome == "delivered":
        handover.status, handover.delivered_at, handover.next_attempt_at = (
            "delivered",
            result.attempted_at,
            None,
        )
        return
    if result.outcome == "gone":
        handover.status, handover.next_attempt_at = "gone", None
        return
    steps = settings.handover_retry_schedule
    retry = None
    if handover.attempts < len(steps):
        retry = next_attempt_at(
            policy(settings),
            now=result.attempted_at,
            attempts_made=handover.attempts,
            retry_after=result.retry_after,
        )
    handover.next_attempt_at = retry
    if retry is None:
        handover.status = "failed"


async def deliver_one(
    session: AsyncSession,
    handover: MashHandover,
    client: httpx.AsyncClient,
    settings: TriageSettings,
) -> None:
    if not (settings.handover_url and settings.handover_secret):
        handover.next_attempt_at = datetime.now(UTC) + UNCONFIGURED_WAIT
        return
    result = await _attempt(client, handover, settings)
    repository.add(
        session,
        MashHandoverAttempt(
            id=uuid.uuid4(),
            handover_id=handover.id,
            attempted_at=result.attempted_at,
            outcome=result.outcome,
            status_code=result.status_code,
            latency_ms=result.latency_ms,
            error=result.error,
            response_excerpt=result.response_excerpt,
        ),
    )
    _apply(handover, result, settings)
    await session.flush()
    await record(session, None, f"handover.{result.outcome}", "handover", handover.id)


async def deliver_due(
    session: AsyncSession, settings: TriageSettings, client: httpx.AsyncClient, *, now: datetime
) -> int:
    """Send every due handover once (in the caller's transaction)."""
    due = await repository.claim_due(session, now, BATCH)
    for handover in due:
        await deliver_one(session, handover, client, settings)
    return len(due)


def handover_job(settings: TriageSettings) -> Any:
    async def job(maker: async_sessionmaker[AsyncSession]) -> int:
        total = 0
        async with make_client(settings.handover_timeout_seconds) as client:
            for _ in range(BATCH):  # bounded: one handover per transaction, a batch per tick
                async with transaction(maker) as session:
                    due = await repository.claim_due(session, datetime.now(UTC), 1)
                    for handover in due:
                        await deliver_one(session, handover, client, settings)
                if not due:
                    break
                total += 1
        return total

    return job
