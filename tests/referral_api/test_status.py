"""The referrer-visible status follows contact.triaged / contact.decided / feedback_given."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from referral_api.status import (
    on_contact_decided,
    on_contact_triaged,
    on_feedback_given,
    status_consumer,
)
from referral_api.worker import build_worker
from services.db import transaction
from services.events.consumer import drain
from services.events.contracts import (
    PAYLOADS,
    ContactDecided,
    ContactFeedbackGiven,
    ContactTriaged,
    EventPayload,
)
from services.events.outbox import emit
from services.models.platform import AuditEntry, OutboxEvent
from services.models.referral import Referral
from tests.factories import make_marf
from tests.referral_api.test_reads import submit

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
CONTACT = uuid.UUID("00000000-0000-0000-0000-00000000c0de")
COUNCIL = "demo"  # the council the test tokens belong to


def event(payload: EventPayload) -> OutboxEvent:
    return OutboxEvent(
        id=uuid.uuid4(),
        topic=payload.topic,
        producer="triage",
        payload=payload.model_dump(mode="json"),
    )


def from_council(ev: OutboxEvent, council_id: str) -> OutboxEvent:
    ev.payload = {**ev.payload, "council_id": council_id}
    return ev


def triaged(referral_id: uuid.UUID | None, at: datetime = T0) -> OutboxEvent:
    return event(
        ContactTriaged(
            contact_id=CONTACT,
            contact_reference="C-1",
            referral_id=referral_id,
            at=at,
            council_id=COUNCIL,
        ),
    )


def decided(
    referral_id: uuid.UUID | None, at: datetime, outcome: str = "early_help"
) -> OutboxEvent:
    return event(
        ContactDecided(
            contact_id=CONTACT,
            referral_id=referral_id,
            decided_at=at,
            contact_type="referral",
            outcome=outcome,
            outcome_summary=f"Outcome: {outcome}",
            next_steps="An early help worker will contact the family this week.",
            council_id=COUNCIL,
        ),
    )


def feedback(referral_id: uuid.UUID | None, at: datetime, text: str) -> OutboxEvent:
    return event(
        ContactFeedbackGiven(
            contact_id=CONTACT,
            referral_id=referral_id,
            given_at=at,
            feedback=text,
            next_steps="-",
            council_id=COUNCIL,
        ),
    )


async def referral_row(session: AsyncSession, ref: str) -> Referral:
    row = await session.scalar(select(Referral).where(Referral.reference == ref))
    assert row is not None
    return row


class TestStatusHandlers:
    async def test_triaged_then_decided_then_feedback_is_what_the_referrer_sees(
        self, client: httpx.AsyncClient, referrer: dict[str, str], session: AsyncSession
    ) -> None:
        ref = await submit(client, referrer)
        row = await referral_row(session, ref)
        await on_contact_triaged(session, triaged(row.id))
        assert (await client.get(f"/v1/referrals/{ref}", headers=referrer)).json()[
            "status"
        ] == "in_triage"
        await on_contact_decided(session, decided(row.id, T0 + timedelta(hours=2)))
        await on_feedback_given(session, feedback(row.id, T0 + timedelta(hours=3), "Thanks."))
        body = (await client.get(f"/v1/referrals/{ref}", headers=referrer)).json()
        assert body["status"] == "decided"
        assert body["contact_reference"] == "C-1"
        assert body["decision"]["outcome"] == "early_help"
        assert body["decision"]["next_steps"].startswith("An early help worker")
        assert body["feedback"]["feedback"] == "Thanks."

    async def test_replays_and_late_events_never_move_the_status_backwards(
        self, client: httpx.AsyncClient, referrer: dict[str, str], session: AsyncSession
    ) -> None:
        ref = await submit(client, referrer)
        row = await referral_row(session, ref)
        first = decided(row.id, T0 + timedelta(hours=2), "s17_assessment")
        await on_contact_decided(session, first)
        await on_contact_decided(session, first)
        await on_contact_decided(session, decided(row.id, T0, "nfa"))  # an older decision
        await on_contact_triaged(session, triaged(row.id))  # arrives late
        await session.refresh(row)
        assert (row.status, row.outcome) == ("decided", "s17_assessment")
        actions = list(
            await session.scalars(
                select(AuditEntry.action).where(AuditEntry.entity_id == str(row.id))
            )
        )
        assert actions.count("referral.status_decided") == 1

    async def test_a_newer_feedback_replaces_an_older_one(
        self, client: httpx.AsyncClient, referrer: dict[str, str], session: AsyncSession
    ) -> None:
        ref = await submit(client, referrer)
        row = await referral_row(session, ref)
        await on_feedback_given(session, feedback(row.id, T0 + timedelta(hours=1), "second"))
        await on_feedback_given(session, feedback(row.id, T0, "first"))
        await session.refresh(row)
        assert row.feedback == "second"

    async def test_events_from_another_council_are_ignored(
        self, client: httpx.AsyncClient, referrer: dict[str, str], session: AsyncSession
    ) -> None:
        ref = await submit(client, referrer)
        row = await referral_row(session, ref)
        later = T0 + timedelta(hours=1)
        await on_contact_triaged(session, from_council(triaged(row.id), "leeds"))
        await on_contact_decided(session, from_council(decided(row.id, later), "leeds"))
        await on_feedback_given(session, from_council(feedback(row.id, later, "x"), "leeds"))
        await session.refresh(row)
        assert (row.status, row.outcome, row.feedback) == ("received", None, None)
        # The referral's own council's events apply.
        await on_contact_decided(session, from_council(decided(row.id, later), row.council_id))
        await session.refresh(row)
        assert (row.status, row.outcome) == ("decided", "early_help")

    async def test_events_without_a_known_referral_are_ignored(self, session: AsyncSession) -> None:
        for ev in (triaged(None), decided(uuid.uuid4(), T0), feedback(None, T0, "x")):
            handler = status_consumer().handlers[ev.topic]
            await handler(session, ev)  # no error, nothing to change


class TestStatusWorker:
    async def test_the_worker_applies_triage_events_from_the_outbox(
        self,
        committed_db: str,
        maker: async_sessionmaker[AsyncSession],
        app: FastAPI,
        referrer: dict[str, str],
    ) -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            ref = (await c.post("/v1/referrals", json=make_marf(), headers=referrer)).json()[
                "reference"
            ]
            async with transaction(maker) as session:
                row = await referral_row(session, ref)
                for ev in (triaged(row.id), decided(row.id, T0 + timedelta(hours=1))):
                    await emit(
                        session, PAYLOADS[ev.topic].model_validate(ev.payload), producer="triage"
                    )
            worker = build_worker(maker, committed_db)
            assert await drain(maker, worker.consumers) == 2
            body = (await c.get(f"/v1/referrals/{ref}", headers=referrer)).json()
        assert body["status"] == "decided"
        assert [p.name for p in worker.periodic] == ["referral_api.idempotency_purge"]
