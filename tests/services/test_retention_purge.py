"""`frontdoor purge`: outbox payloads, delivery bodies and idempotency records past their
windows are removed, what is still needed stays, and every run is on the audit trail."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.db import transaction
from services.models.notifications import Attempt, Delivery
from services.models.platform import AuditEntry, EventConsumption, OutboxEvent
from services.retention import purge_all, purge_job
from services.settings import get_settings
from tests.database import ROOT

Maker = async_sessionmaker[AsyncSession]
MARF = {"marf": {"subjects": [{"given_name": "Sam"}]}}


async def event(maker: Maker, *, age_days: int, status: str) -> uuid.UUID:
    event_id = uuid.uuid4()
    async with transaction(maker) as s:
        s.add(OutboxEvent(id=event_id, topic="referral.received", producer="t", payload=MARF))
        s.add(EventConsumption(consumer="c", event_id=event_id, status=status))
        await s.flush()
        await s.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id == event_id)
            .values(created_at=func.now() - timedelta(days=age_days))
        )
    return event_id


async def delivery(maker: Maker, *, age_days: int, status: str) -> uuid.UUID:
    delivery_id = uuid.uuid4()
    async with transaction(maker) as s:
        s.add(
            Delivery(
                id=delivery_id,
                channel="webhook",
                kind="alert",
                message_id=f"msg_{delivery_id.hex}",
                body='{"type": "encompass.notification.created"}',
                status=status,
            )
        )
        await s.flush()
        s.add(
            Attempt(
                delivery_id=delivery_id,
                attempted_at=func.now(),
                status_code=200,
                latency_ms=5,
                outcome="delivered",
                response_excerpt="thanks",
            )
        )
        await s.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id)
            .values(created_at=func.now() - timedelta(days=age_days))
        )
    return delivery_id


async def payload(maker: Maker, event_id: uuid.UUID) -> object:
    async with transaction(maker) as s:
        return await s.scalar(select(OutboxEvent.payload).where(OutboxEvent.id == event_id))


async def body(maker: Maker, delivery_id: uuid.UUID) -> tuple[str | None, str | None]:
    async with transaction(maker) as s:
        text = await s.scalar(select(Delivery.body).where(Delivery.id == delivery_id))
        reply = await s.scalar(
            select(Attempt.response_excerpt).where(Attempt.delivery_id == delivery_id)
        )
        return text, reply


class TestPurge:
    async def test_old_handled_payloads_are_emptied_and_the_rest_kept(
        self, committed_db: str, maker: Maker
    ) -> None:
        old = await event(maker, age_days=8, status="done")
        recent = await event(maker, age_days=2, status="done")
        waiting = await event(maker, age_days=30, status="pending")
        report = await purge_all(maker, get_settings())
        assert report.removed["outbox_payloads"] == 1
        assert await payload(maker, old) == {}
        assert await payload(maker, recent) == MARF
        assert await payload(maker, waiting) == MARF

    async def test_old_finished_delivery_bodies_are_emptied_and_pending_ones_kept(
        self, committed_db: str, maker: Maker
    ) -> None:
        old = await delivery(maker, age_days=31, status="delivered")
        recent = await delivery(maker, age_days=5, status="delivered")
        pending = await delivery(maker, age_days=40, status="pending")
        report = await purge_all(maker, get_settings())
        assert report.removed["notifications"] == 1
        assert await body(maker, old) == ("", None)
        assert (await body(maker, recent))[1] == "thanks"
        assert (await body(maker, pending))[0] != ""

    async def test_every_run_is_audited_with_its_counts(
        self, committed_db: str, maker: Maker
    ) -> None:
        await event(maker, age_days=8, status="done")
        await purge_all(maker, get_settings())
        async with transaction(maker) as s:
            row = await s.scalar(select(AuditEntry).where(AuditEntry.action == "retention.purge"))
        assert row is not None
        assert row.actor_role == "system"
        assert row.reason is not None
        assert "outbox_payloads=1" in row.reason

    async def test_the_periodic_job_audits_only_when_it_removed_something(
        self, committed_db: str, maker: Maker
    ) -> None:
        job = purge_job(get_settings())
        assert await job.job(maker) == 0
        async with transaction(maker) as s:
            count = await s.scalar(
                select(func.count()).where(AuditEntry.action == "retention.purge")
            )
        assert count == 0

    def test_the_command_prints_what_it_removed(self, committed_db: str) -> None:
        env = {**os.environ, "DATABASE_URL": committed_db, "PYTHONPATH": str(ROOT)}
        result = subprocess.run(
            [sys.executable, "-m", "services.cli", "purge"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        out = result.stdout
        assert out.startswith("purged: ")
        assert "outbox_payloads=0" in out
        assert "referral_api=0" in out
