"""Handover delivery: which decisions hand over, retries, 410, SSRF, no endpoint, reads."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from jose import jwt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.events.contracts import ContactDecided
from services.models.mash import MashHandover, MashHandoverAttempt
from services.models.platform import OutboxEvent
from services.settings import get_settings
from services.webhooks.transport import make_client
from tests.conftest import TokenFactory
from tests.triage.mash_support import Headers, new_contact, running_receiver
from triage.handover.handlers import handle_contact_decided
from triage.handover.jobs import deliver_due, handover_job
from triage.handover.payload import HANDOVER_TYPES
from triage.settings import TriageSettings

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def other_council_token(role: str) -> Headers:
    """A valid token for the same role in another council."""
    settings = get_settings()
    now = int(time.time())
    claims = {
        "sub": "elsewhere",
        "role": role,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + 600,
        "council_id": "another-council",
    }
    return {"Authorization": "Bearer " + jwt.encode(claims, settings.jwt_secret, algorithm="HS256")}


def decided_event(contact_id: str, outcome: str) -> OutboxEvent:
    payload = ContactDecided(
        contact_id=uuid.UUID(contact_id),
        referral_id=None,
        decided_at=datetime.now(UTC),
        contact_type="referral",
        outcome=outcome,
        outcome_summary="s",
        next_steps="n",
        council_id="demo",
    )
    return OutboxEvent(
        id=uuid.uuid4(),
        topic="contact.decided",
        version=1,
        producer="triage",
        payload=payload.model_dump(mode="json"),
    )


async def handovers(session: AsyncSession, contact_id: str) -> list[MashHandover]:
    rows = await session.scalars(
        select(MashHandover).where(MashHandover.contact_id == uuid.UUID(contact_id))
    )
    return list(rows.all())


async def handed_over(
    client: httpx.AsyncClient, worker: Headers, session: AsyncSession, outcome: str
) -> tuple[str, MashHandover]:
    contact = await new_contact(client, worker)
    await handle_contact_decided(session, decided_event(contact["id"], outcome))
    rows = await handovers(session, contact["id"])
    assert len(rows) == 1
    return contact["id"], rows[0]


async def deliver(session: AsyncSession, settings: TriageSettings, times: int = 1) -> None:
    async with make_client(5.0) as http:
        for i in range(times):
            await deliver_due(session, settings, http, now=datetime.now(UTC) + timedelta(seconds=i))


def settings_for(url: str | None, **overrides: Any) -> TriageSettings:
    values: dict[str, Any] = {
        "handover_url": url,
        "handover_secret": SECRET,
        "handover_retry_schedule": (0, 0, 0),
    }
    values.update(overrides)
    return TriageSettings(**values)


class TestWhichDecisions:
    @pytest.mark.parametrize(("outcome", "kind"), sorted(HANDOVER_TYPES.items()))
    async def test_assessments_strategy_and_transfers_hand_over(
        self,
        client: httpx.AsyncClient,
        worker: Headers,
        session: AsyncSession,
        outcome: str,
        kind: str,
    ) -> None:
        _, handover = await handed_over(client, worker, session, outcome)
        assert handover.handover_type == kind
        assert handover.status == "pending"

    @pytest.mark.parametrize("outcome", ["nfa", "advice_given", "early_help", "lado"])
    async def test_other_outcomes_do_not(
        self, client: httpx.AsyncClient, worker: Headers, session: AsyncSession, outcome: str
    ) -> None:
        contact = await new_contact(client, worker)
        await handle_contact_decided(session, decided_event(contact["id"], outcome))
        assert await handovers(session, contact["id"]) == []


class TestDelivery:
    async def test_gone_stops_retrying(
        self, client: httpx.AsyncClient, worker: Headers, session: AsyncSession
    ) -> None:
        _, handover = await handed_over(client, worker, session, "s17_assessment")
        with running_receiver() as receiver:
            receiver.script.append((410, {}))
            await deliver(session, settings_for(receiver.url), times=3)
        assert len(receiver.received) == 1
        assert (handover.status, handover.next_attempt_at) == ("gone", None)

    async def test_gives_up_after_the_schedule_and_keeps_every_attempt(
        self, client: httpx.AsyncClient, worker: Headers, session: AsyncSession
    ) -> None:
        _, handover = await handed_over(client, worker, session, "s17_assessment")
        with running_receiver() as receiver:
            receiver.script.extend([(500, {})] * 5)
            await deliver(session, settings_for(receiver.url), times=5)
        assert len(receiver.received) == 3  # the schedule has three steps
        assert handover.status == "failed"
        attempts = await session.scalars(
            select(MashHandoverAttempt.status_code).where(
                MashHandoverAttempt.handover_id == handover.id
            )
        )
        assert list(attempts.all()) == [500, 500, 500]

    async def test_retry_after_is_honoured(
        self, client: httpx.AsyncClient, worker: Headers, session: AsyncSession
    ) -> None:
        _, handover = await handed_over(client, worker, session, "s17_assessment")
        with running_receiver() as receiver:
            receiver.script.append((429, {"Retry-After": "120"}))
            await deliver(session, settings_for(receiver.url))
        assert handover.next_attempt_at is not None
        assert handover.next_attempt_at >= datetime.now(UTC) + timedelta(seconds=100)

    async def test_a_private_address_is_refused_before_any_request(
        self, client: httpx.AsyncClient, worker: Headers, session: AsyncSession
    ) -> None:
        _, handover = await handed_over(client, worker, session, "s17_assessment")
        # 10.0.0.1 is private and not allow-listed: refused by the SSRF rules, never sent.
        await deliver(session, settings_for("http://10.0.0.1:9/hook"))
        attempt = await session.scalar(
            select(MashHandoverAttempt).where(MashHandoverAttempt.handover_id == handover.id)
        )
        assert attempt is not None
        assert attempt.outcome == "refused"
        assert attempt.error is not None
        assert "private" in attempt.error

    async def test_with_no_endpoint_configured_it_waits(
        self, client: httpx.AsyncClient, worker: Headers, session: AsyncSession
    ) -> None:
        _, handover = await handed_over(client, worker, session, "s17_assessment")
        await deliver(session, settings_for(None))
        assert (handover.status, handover.attempts) == ("pending", 0)
        assert handover.next_attempt_at is not None
        assert handover.next_attempt_at > datetime.now(UTC)


class TestHandoverJob:
    """The worker's periodic job itself: one transaction per handover, a bounded batch."""

    async def test_the_job_delivers_each_due_handover_retrying_within_its_run(
        self, client: httpx.AsyncClient, worker: Headers, session: AsyncSession
    ) -> None:
        _, first = await handed_over(client, worker, session, "s17_assessment")
        _, second = await handed_over(client, worker, session, "referral_to_other_agency")
        await session.flush()
        # The job's own transactions, joined to the test's as savepoints (rolled back after).
        maker = async_sessionmaker(
            bind=await session.connection(),
            expire_on_commit=False,
            join_transaction_mode="create_savepoint",
        )
        with running_receiver() as receiver:
            receiver.script.append((503, {}))
            sent = await handover_job(settings_for(receiver.url))(maker)
            again = await handover_job(settings_for(receiver.url))(maker)
        assert sent == 3  # two handovers, one of them twice (503, then 200 at once)
        assert again == 0  # nothing left due
        assert len(receiver.received) == 3
        for handover in (first, second):
            await session.refresh(handover)
            assert handover.status == "delivered"
        attempts = await session.scalars(
            select(MashHandoverAttempt.status_code)
            .where(MashHandoverAttempt.handover_id.in_([first.id, second.id]))
            .order_by(MashHandoverAttempt.attempted_at)
        )
        assert list(attempts.all()) == [503, 200, 200]

    async def test_with_no_endpoint_the_job_sends_nothing_and_the_handover_waits(
        self, client: httpx.AsyncClient, worker: Headers, session: AsyncSession
    ) -> None:
        _, handover = await handed_over(client, worker, session, "s17_assessment")
        await session.flush()
        maker = async_sessionmaker(
            bind=await session.connection(),
            expire_on_commit=False,
            join_transaction_mode="create_savepoint",
        )
        assert await handover_job(settings_for(None))(maker) == 1
        await session.refresh(handover)
        assert (handover.status, handover.attempts) == ("pending", 0)
        assert handover.next_attempt_at is not None
        assert handover.next_attempt_at > datetime.now(UTC)
        assert await handover_job(settings_for(None))(maker) == 0  # not due again yet


class TestReads:
    async def test_an_unknown_handover_is_404_for_the_case_system(
        self, client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        case_system = auth("case_system", sub="lcs")
        response = await client.get(f"/v1/handovers/{uuid.uuid4()}", headers=case_system)
        assert response.status_code == 404

    async def test_another_council_s_handover_is_404(
        self, client: httpx.AsyncClient, worker: Headers, session: AsyncSession
    ) -> None:
        _, handover = await handed_over(client, worker, session, "s17_assessment")
        elsewhere = other_council_token("case_system")
        response = await client.get(f"/v1/handovers/{handover.id}", headers=elsewhere)
        assert response.status_code == 404

    async def test_partners_and_referrers_cannot_read_it(
        self, client: httpx.AsyncClient, worker: Headers, session: AsyncSession, auth: TokenFactory
    ) -> None:
        _, handover = await handed_over(client, worker, session, "s17_assessment")
        for role in ("mash_partner", "referrer"):
            headers = auth(role, agency_id="police")
            assert (
                await client.get(f"/v1/handovers/{handover.id}", headers=headers)
            ).status_code == 403
