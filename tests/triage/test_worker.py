"""The triage worker on committed data: intake through the outbox, the clock scanner's
exactly-once events under concurrency, and claims racing for one contact."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.auth import Principal, Role
from services.db import transaction
from services.events.consumer import drain
from services.events.contracts import SUBSCRIPTIONS, ReferralReceived
from services.events.outbox import emit
from services.models.platform import EventConsumption, OutboxEvent
from services.models.triage import TriageClock, TriageContact
from services.settings import get_settings
from tests.factories import make_marf, with_subject
from tests.triage.conftest import phone_contact, referral_event
from triage import demo
from triage.clocks.jobs import scan_clocks
from triage.contacts.exceptions import ContactLeased
from triage.contacts.schemas import ContactCreate
from triage.contacts.service import claim, record_contact
from triage.settings import get_triage_settings
from triage.worker import HANDOVER, INTAKE, build_worker

Maker = async_sessionmaker[AsyncSession]
WORKER = Principal(sub="worker-1", role=Role.front_door_worker)


async def seed(maker: Maker) -> None:
    async with transaction(maker) as session:
        await demo.seed(session, get_settings())


async def count(maker: Maker, topic: str) -> int:
    async with transaction(maker) as session:
        n = await session.scalar(select(func.count()).where(OutboxEvent.topic == topic))
        return int(n or 0)


async def phone_contact_at(maker: Maker, received: datetime) -> uuid.UUID:
    body = ContactCreate.model_validate(phone_contact(received_at=received.isoformat()))
    async with transaction(maker) as session:
        contact = await record_contact(
            session, principal=WORKER, body=body, settings=get_triage_settings()
        )
        return contact.id


@pytest.mark.usefixtures("committed_db")
class TestIntakeThroughTheOutbox:
    async def test_referral_received_is_handled_once_even_when_replayed(self, maker: Maker) -> None:
        await seed(maker)
        event = referral_event()
        payload = ReferralReceived.model_validate(event.payload)
        async with transaction(maker) as session:
            await emit(session, payload, producer="referral_api")
        assert await drain(maker, [INTAKE]) == 1
        async with transaction(maker) as session:  # replay: the consumption row again pending
            await session.execute(update(EventConsumption).values(status="pending"))
        await drain(maker, [INTAKE])
        async with transaction(maker) as session:
            contacts = await session.scalar(select(func.count()).select_from(TriageContact))
        assert contacts == 1
        assert await count(maker, "contact.triaged") == 1

    async def test_a_newborn_after_the_phone_call_is_queued_not_retried(self, maker: Maker) -> None:
        # The receipt time of a phone follow-up is the call; the baby was born since.
        await seed(maker)
        born = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
        marf = with_subject(make_marf(), date_of_birth=born, given_name="Baby")
        event = referral_event(
            marf, received_at=datetime.now(UTC) - timedelta(days=3), phone_reference="FDC-X"
        )
        payload = ReferralReceived.model_validate(event.payload)
        async with transaction(maker) as session:
            await emit(session, payload, producer="referral_api")
        assert await drain(maker, [INTAKE]) == 1
        async with transaction(maker) as session:
            statuses = set(
                (
                    await session.scalars(
                        select(EventConsumption.status).where(
                            EventConsumption.consumer == INTAKE.name
                        )
                    )
                ).all()
            )
            contacts = await session.scalar(select(func.count()).select_from(TriageContact))
        assert (statuses, contacts) == ({"done"}, 1)

    def test_worker_consumes_what_the_contracts_route_to_it(self) -> None:
        routed = {t for t, names in SUBSCRIPTIONS.items() if INTAKE.name in names}
        assert routed == set(INTAKE.handlers)
        handed = {t for t, names in SUBSCRIPTIONS.items() if HANDOVER.name in names}
        assert handed == set(HANDOVER.handlers) == {"contact.decided"}
        worker = build_worker(async_sessionmaker(), "postgresql://127.0.0.1/unused")
        assert [p.name for p in worker.periodic] == [
            "triage.clock_scan",
            "triage.scheduled_reports",
            "triage.handover_delivery",
        ]
        assert [c.name for c in worker.consumers] == [INTAKE.name, HANDOVER.name]


@pytest.mark.usefixtures("committed_db")
class TestClockScanner:
    async def test_each_clock_breaches_once_across_concurrent_scanners(self, maker: Maker) -> None:
        await seed(maker)
        received = datetime.now(UTC) - timedelta(days=3)
        ids = [await phone_contact_at(maker, received) for _ in range(6)]

        async def scan() -> int:
            async with transaction(maker) as session:
                return await scan_clocks(session, now=datetime.now(UTC), limit=100)

        await asyncio.gather(*(scan() for _ in range(4)))
        await scan()
        # Three days on, at least the written follow-up, 24 h and 48 h clocks are overdue.
        async with transaction(maker) as session:
            breached = await session.scalar(
                select(func.count()).where(TriageClock.state == "breached")
            )
            flagged = await session.scalar(
                select(func.count()).where(TriageContact.id.in_(ids), TriageContact.breached)
            )
        assert await count(maker, "clock.breached") == breached
        assert breached is not None
        assert breached >= 3 * len(ids)
        assert flagged == len(ids)
        assert await count(maker, "contact.written_follow_up_overdue") == len(ids)

    async def test_due_soon_is_warned_once(self, maker: Maker) -> None:
        await seed(maker)
        contact_id = await phone_contact_at(maker, datetime.now(UTC) - timedelta(hours=23))
        async with transaction(maker) as session:
            await scan_clocks(session, now=datetime.now(UTC), limit=100)
        async with transaction(maker) as session:
            await scan_clocks(session, now=datetime.now(UTC), limit=100)
            warned = (
                await session.scalars(
                    select(TriageClock.kind).where(
                        TriageClock.contact_id == contact_id,
                        TriageClock.due_soon_emitted_at.is_not(None),
                    )
                )
            ).all()
        assert {"written_follow_up", "completed_24h"} <= set(warned)
        assert await count(maker, "clock.due_soon") == len(warned)

    async def test_met_clocks_never_breach(self, maker: Maker) -> None:
        await seed(maker)
        contact_id = await phone_contact_at(maker, datetime.now(UTC) - timedelta(days=10))
        async with transaction(maker) as session:
            await session.execute(
                update(TriageClock)
                .where(TriageClock.contact_id == contact_id)
                .values(state="met", met_at=datetime.now(UTC))
            )
        async with transaction(maker) as session:
            assert await scan_clocks(session, now=datetime.now(UTC), limit=100) == 0


@pytest.mark.usefixtures("committed_db")
class TestClaimRace:
    async def test_only_one_of_many_simultaneous_claims_wins(self, maker: Maker) -> None:
        await seed(maker)
        contact_id = await phone_contact_at(maker, datetime.now(UTC))
        settings = get_triage_settings()

        async def try_claim(n: int) -> bool:
            principal = Principal(sub=f"worker-{n}", role=Role.front_door_worker)
            try:
                async with transaction(maker) as session:
                    await claim(
                        session, principal=principal, contact_id=contact_id, settings=settings
                    )
                return True
            except ContactLeased:
                return False

        results = await asyncio.gather(*(try_claim(n) for n in range(8)))
        assert sum(results) == 1
