"""The one-statement intake writes what the platform's audit and outbox writers would."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from referral_api.calendars import remembering
from referral_api.receipt import reference_for
from referral_api.repository import REFERENCE_SQL
from services.calendar import WorkingCalendar
from services.events.contracts import ReferralReceived, consumers_for
from services.events.outbox import NOTIFY_CHANNEL
from services.models.platform import AuditEntry, EventConsumption, OutboxEvent
from services.models.referral import Referral
from tests.factories import make_marf


async def submitted(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    marf: dict[str, Any] | None = None,
) -> tuple[httpx.Response, dict[str, Any]]:
    response = await client.post("/v1/referrals", json=marf or make_marf(), headers=headers)
    assert response.status_code == 201
    return response, response.json()


class TestIntakeStatement:
    async def test_the_stored_receipt_is_the_response_sent(
        self, client: httpx.AsyncClient, referrer: dict[str, str], session: AsyncSession
    ) -> None:
        _, body = await submitted(client, {**referrer, "Idempotency-Key": "receipt-1"})
        row = await session.scalar(select(Referral).where(Referral.reference == body["reference"]))
        assert row is not None
        assert row.receipt == body
        assert body["reference"] in body["what_happens_next"]
        assert body["url"] == f"/v1/referrals/{body['reference']}"

    async def test_the_event_is_the_referral_as_stored_with_a_pending_row_per_subscriber(
        self, client: httpx.AsyncClient, referrer: dict[str, str], session: AsyncSession
    ) -> None:
        response, body = await submitted(client, referrer)
        row = await session.scalar(select(Referral).where(Referral.reference == body["reference"]))
        assert row is not None
        event = await session.scalar(
            select(OutboxEvent).where(OutboxEvent.payload["referral_id"].astext == str(row.id))
        )
        assert event is not None
        assert (event.topic, event.version, event.producer) == (
            "referral.received",
            1,
            "referral_api",
        )
        assert event.request_id == response.headers["x-request-id"]
        expected = ReferralReceived(
            referral_id=row.id,
            reference=row.reference,
            council_id=row.council_id,
            agency_id=row.agency_id,
            received_at=row.received_at,
            submitted_at=row.submitted_at,
            follow_up_to_phone_call=False,
            child_voice_missing=row.child_voice_missing,
            marf=row.marf,
        )
        assert event.payload == expected.model_dump(mode="json")
        consumptions = (
            await session.scalars(
                select(EventConsumption).where(EventConsumption.event_id == event.id)
            )
        ).all()
        assert sorted(c.consumer for c in consumptions) == sorted(
            consumers_for("referral.received")
        )
        assert {(c.status, c.attempts, c.processed_at) for c in consumptions} == {
            ("pending", 0, None)
        }

    async def test_the_audit_row_names_the_referral_the_actor_and_the_request(
        self, client: httpx.AsyncClient, referrer: dict[str, str], session: AsyncSession
    ) -> None:
        response, body = await submitted(client, referrer)
        row = await session.scalar(select(Referral).where(Referral.reference == body["reference"]))
        assert row is not None
        audit = await session.scalar(select(AuditEntry).where(AuditEntry.entity_id == str(row.id)))
        assert audit is not None
        assert (audit.service, audit.actor_sub, audit.entity_type, audit.reason) == (
            "referral_api",
            "test-referrer",
            "referral",
            None,
        )
        assert audit.request_id == response.headers["x-request-id"]

    async def test_a_replay_writes_nothing(
        self, client: httpx.AsyncClient, referrer: dict[str, str], session: AsyncSession
    ) -> None:
        key, marf = {"Idempotency-Key": "replay-writes-nothing"}, make_marf()
        _, first = await submitted(client, {**referrer, **key}, marf)
        before = await session.scalar(select(text("count(*)")).select_from(OutboxEvent))
        audits = await session.scalar(select(text("count(*)")).select_from(AuditEntry))
        again = await client.post("/v1/referrals", json=marf, headers={**referrer, **key})
        assert again.status_code == 201
        assert again.json() == first
        assert await session.scalar(select(text("count(*)")).select_from(OutboxEvent)) == before
        assert await session.scalar(select(text("count(*)")).select_from(AuditEntry)) == audits

    @pytest.mark.parametrize("number", [1, 123, 999_999, 1_000_000, 123_456_789_012])
    async def test_references_are_padded_as_reference_for_pads_them(
        self, session: AsyncSession, number: int
    ) -> None:
        query = text(f"SELECT {REFERENCE_SQL} FROM (SELECT CAST(:n AS bigint) AS n) AS num")
        made = await session.scalar(query, {"prefix": "FD-2026-", "n": number})
        assert made == reference_for(2026, number)


class TestNotify:
    async def test_workers_are_woken_once_the_referral_is_committed(
        self,
        committed_db: str,
        database_url: str,
        app: FastAPI,
        referrer: dict[str, str],
    ) -> None:
        listener = await asyncpg.connect(
            database_url.replace("+asyncpg", "").replace("+psycopg", "")
        )
        heard: asyncio.Queue[str] = asyncio.Queue()
        try:
            await listener.add_listener(NOTIFY_CHANNEL, lambda *args: heard.put_nowait(args[3]))
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
                response = await c.post("/v1/referrals", json=make_marf(), headers=referrer)
            assert response.status_code == 201
            assert await asyncio.wait_for(heard.get(), timeout=5) == "referral.received"
        finally:
            await listener.close()


class TestRememberingCalendar:
    def test_answers_as_the_calendar_it_remembers(self) -> None:
        plain = WorkingCalendar(closure_days=frozenset({date(2026, 12, 24)}))
        cached = remembering(plain)
        start = datetime(2026, 3, 20, 9, 30, tzinfo=UTC)
        for hours in range(0, 24 * 400, 7):
            at = start + timedelta(hours=hours)
            assert cached.is_working_day(at.date()) == plain.is_working_day(at.date())
            assert cached.add_working_days(at, 1) == plain.add_working_days(at, 1)
            assert cached.local(at) == plain.local(at)
        assert (cached.timezone, cached.closure_days, cached.rule) == (
            plain.timezone,
            plain.closure_days,
            plain.rule,
        )
