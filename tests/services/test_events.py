"""The outbox and the consumer loop on real PostgreSQL."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import structlog
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.audit import record
from services.db import transaction
from services.events.consumer import (
    EVENT_RETRY,
    MAX_ATTEMPTS,
    Consumer,
    Worker,
    drain,
    process_one,
    retry_delay,
)
from services.events.contracts import (
    PAYLOADS,
    SUBSCRIPTIONS,
    ContactTriaged,
    EventPayload,
    ReferralReceived,
)
from services.events.outbox import emit, emit_many
from services.logging import current_request_id, reset_request_id, set_request_id
from services.models.platform import AuditEntry, CouncilCalendar, EventConsumption, OutboxEvent
from services.retry import RetryPolicy
from tests.database import ROOT
from tests.polling import until

Maker = async_sessionmaker[AsyncSession]


def triaged() -> ContactTriaged:
    return ContactTriaged(
        contact_id=uuid.uuid4(),
        contact_reference="C-1",
        referral_id=uuid.uuid4(),
        at=datetime(2026, 11, 23, 9, tzinfo=UTC),
        council_id="demo",
    )


def received(reference: str = "FD-1") -> ReferralReceived:
    at = datetime(2026, 11, 23, 9, tzinfo=UTC)
    return ReferralReceived(
        referral_id=uuid.uuid4(),
        reference=reference,
        council_id="demo",
        agency_id="police",
        received_at=at,
        submitted_at=at,
        follow_up_to_phone_call=False,
        child_voice_missing=False,
        marf={},
    )


async def emit_committed(maker: Maker, count: int = 1) -> None:
    async with transaction(maker) as s:
        for n in range(count):
            await emit(s, received(f"FD-{n}"), producer="referral_api")


async def make_due(maker: Maker) -> None:
    async with transaction(maker) as s:
        await s.execute(update(EventConsumption).values(next_attempt_at=func.now()))


async def consumptions(maker: Maker) -> list[EventConsumption]:
    async with transaction(maker) as s:
        return list((await s.scalars(select(EventConsumption))).all())


class TestOutbox:
    async def test_emit_writes_event_and_one_consumption_per_subscriber(
        self, session: AsyncSession
    ) -> None:
        event_id = await emit(session, received(), producer="referral_api")
        rows = (
            await session.scalars(
                select(EventConsumption).where(EventConsumption.event_id == event_id)
            )
        ).all()
        assert [r.consumer for r in rows] == ["triage.intake"]
        assert rows[0].status == "pending"

    async def test_a_payload_model_is_stored_as_json(self, session: AsyncSession) -> None:
        payload = triaged()
        event_id = await emit(session, payload, producer="triage")
        stored = await session.get(OutboxEvent, event_id)
        assert stored is not None
        assert stored.topic == "contact.triaged"
        assert ContactTriaged.model_validate(stored.payload) == payload

    async def test_a_payload_class_outside_the_registry_is_refused(
        self, session: AsyncSession
    ) -> None:
        class Teleported(EventPayload):
            topic = "referral.teleported"

        with pytest.raises(KeyError, match="unknown event topic"):
            await emit(session, Teleported(), producer="referral_api")

    async def test_the_event_rolls_back_with_the_business_change(
        self, session: AsyncSession
    ) -> None:
        nested = await session.begin_nested()
        session.add(CouncilCalendar(council_id="rb", name="x", office_hours={}, settings={}))
        await emit(session, received("FD-2"), producer="referral_api")
        await nested.rollback()
        assert await session.get(CouncilCalendar, "rb") is None
        assert await session.scalar(select(func.count()).select_from(OutboxEvent)) == 0
        assert await session.scalar(select(func.count()).select_from(EventConsumption)) == 0

    async def test_the_event_commits_with_the_business_change(
        self, committed_db: str, maker: Maker
    ) -> None:
        async with transaction(maker) as s:
            s.add(CouncilCalendar(council_id="c1", name="x", office_hours={}, settings={}))
            await emit(s, received("FD-3"), producer="referral_api")
        async with transaction(maker) as s:
            assert await s.get(CouncilCalendar, "c1") is not None
            assert await s.scalar(select(func.count()).select_from(OutboxEvent)) == 1


class TestEmitMany:
    async def test_many_events_one_consumption_each_in_the_same_transaction(
        self, session: AsyncSession
    ) -> None:
        ids = await emit_many(
            session, [received(f"FD-{n}") for n in range(3)], producer="referral_api"
        )
        rows = (
            await session.scalars(
                select(EventConsumption).where(EventConsumption.event_id.in_(ids))
            )
        ).all()
        assert len(set(ids)) == 3
        assert sorted(r.event_id for r in rows) == sorted(ids)
        assert {r.consumer for r in rows} == {"triage.intake"}

    async def test_mixed_topics_each_keep_their_own(self, session: AsyncSession) -> None:
        ids = await emit_many(session, [received(), triaged(), received("FD-2")], producer="t")
        stored = [await session.get(OutboxEvent, i) for i in ids]
        assert [e.topic for e in stored if e] == [
            "referral.received",
            "contact.triaged",
            "referral.received",
        ]

    async def test_nothing_to_emit_writes_nothing(self, session: AsyncSession) -> None:
        assert await emit_many(session, [], producer="referral_api") == []
        assert await session.scalar(select(func.count()).select_from(OutboxEvent)) == 0


class TestRegistry:
    def test_every_topic_is_one_payload_class_naming_it(self) -> None:
        assert set(PAYLOADS) == set(SUBSCRIPTIONS)
        for topic, cls in PAYLOADS.items():
            assert cls.topic == topic

    def test_every_concrete_payload_class_is_registered(self) -> None:
        def concrete(cls: type[EventPayload]) -> set[type[EventPayload]]:
            # (a test's own classes, like Teleported above, are not contracts)
            ours = cls.__module__ == "services.events.contracts"
            found = {cls} if "topic" in vars(cls) and ours else set()
            for sub in cls.__subclasses__():
                found |= concrete(sub)
            return found

        assert concrete(EventPayload) == set(PAYLOADS.values())

    def test_a_family_shares_its_shape_under_one_topic_each(self) -> None:
        assert PAYLOADS["clock.due_soon"] is not PAYLOADS["clock.breached"]
        due_soon, breached = PAYLOADS["clock.due_soon"], PAYLOADS["clock.breached"]
        assert due_soon.model_fields.keys() == breached.model_fields.keys()


class TestConsumer:
    async def test_the_handler_carries_on_the_request_that_caused_the_event(
        self, committed_db: str, maker: Maker
    ) -> None:
        seen: list[tuple[str | None, object]] = []

        async def handler(session: AsyncSession, event: OutboxEvent) -> None:
            context = structlog.contextvars.get_contextvars()
            seen.append((current_request_id(), context.get("event_id")))
            await record(
                session,
                service="triage",
                actor=None,
                action="x",
                entity_type="event",
                entity_id=event.id,
            )

        token = set_request_id("partner-req-1")
        try:
            await emit_committed(maker)
        finally:
            reset_request_id(token)
        consumer = Consumer(name="triage.intake", handlers={"referral.received": handler})
        await drain(maker, [consumer])
        async with transaction(maker) as s:
            entry = (await s.scalars(select(AuditEntry))).one()
            event = (await s.scalars(select(OutboxEvent))).one()
        assert event.request_id == "partner-req-1"
        assert seen == [("partner-req-1", str(event.id))]
        assert entry.request_id == "partner-req-1"
        assert current_request_id() is None  # nothing left behind
        assert "event_id" not in structlog.contextvars.get_contextvars()

    async def test_an_event_raised_outside_a_request_is_its_own_request_id(
        self, committed_db: str, maker: Maker
    ) -> None:
        seen: list[str | None] = []

        async def handler(session: AsyncSession, event: OutboxEvent) -> None:
            seen.append(current_request_id())

        await emit_committed(maker)
        consumer = Consumer(name="triage.intake", handlers={"referral.received": handler})
        await drain(maker, [consumer])
        async with transaction(maker) as s:
            event = (await s.scalars(select(OutboxEvent))).one()
        assert event.request_id is None
        assert seen == [f"event:{event.id}"]

    async def test_handler_effects_and_the_receipt_commit_together(
        self, committed_db: str, maker: Maker
    ) -> None:
        async def handler(session: AsyncSession, event: OutboxEvent) -> None:
            session.add(
                CouncilCalendar(council_id="from-event", name="x", office_hours={}, settings={})
            )

        await emit_committed(maker)
        consumer = Consumer(name="triage.intake", handlers={"referral.received": handler})
        assert await drain(maker, [consumer]) == 1
        [row] = await consumptions(maker)
        assert (row.status, row.attempts, row.last_error) == ("done", 1, None)
        assert row.processed_at is not None
        async with transaction(maker) as s:
            assert await s.get(CouncilCalendar, "from-event") is not None

    async def test_a_failed_handler_leaves_no_effect_and_is_retried_after_a_restart(
        self, committed_db: str, maker: Maker
    ) -> None:
        seen: list[str] = []
        failures = {"left": 1}

        async def handler(session: AsyncSession, event: OutboxEvent) -> None:
            session.add(CouncilCalendar(council_id="half", name="x", office_hours={}, settings={}))
            await session.flush()
            if failures["left"]:
                failures["left"] -= 1
                raise RuntimeError("Jane Example's record")  # the message must not be stored
            seen.append(event.payload["reference"])

        await emit_committed(maker)
        first = Consumer(name="triage.intake", handlers={"referral.received": handler})
        assert await drain(maker, [first]) == 1
        [row] = await consumptions(maker)
        assert (row.status, row.attempts, row.last_error) == ("pending", 1, "RuntimeError")
        async with transaction(maker) as s:
            assert await s.get(CouncilCalendar, "half") is None  # the savepoint rolled back
            now = (await s.execute(select(func.now()))).scalar_one()
        assert row.next_attempt_at >= now + timedelta(seconds=4)
        assert await drain(maker, [first]) == 0  # backing off: not due yet

        # A "restart": a new consumer object, only the rows remember the retry.
        await make_due(maker)
        restarted = Consumer(name="triage.intake", handlers={"referral.received": handler})
        assert await drain(maker, [restarted]) == 1
        assert await drain(maker, [restarted]) == 0
        assert seen == ["FD-0"]
        [row] = await consumptions(maker)
        assert (row.status, row.attempts) == ("done", 2)

    async def test_after_max_attempts_the_event_is_dead_lettered(
        self, committed_db: str, maker: Maker
    ) -> None:
        async def always_fails(session: AsyncSession, event: OutboxEvent) -> None:
            raise ValueError("bad")

        consumer = Consumer(
            name="triage.intake", handlers={"referral.received": always_fails}, max_attempts=3
        )
        await emit_committed(maker)
        for _ in range(3):
            assert await drain(maker, [consumer]) == 1
            await make_due(maker)
        [row] = await consumptions(maker)
        assert (row.status, row.attempts, row.last_error) == ("dead", 3, "ValueError")
        assert await drain(maker, [consumer]) == 0  # parked, never retried again

    async def test_an_attempt_that_kills_its_own_connection_is_still_counted(
        self, committed_db: str, maker: Maker
    ) -> None:
        async def poison(session: AsyncSession, event: OutboxEvent) -> None:
            await session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))

        consumer = Consumer(
            name="triage.intake", handlers={"referral.received": poison}, max_attempts=2
        )
        await emit_committed(maker)
        assert await drain(maker, [consumer]) == 1
        [row] = await consumptions(maker)
        assert (row.status, row.attempts) == ("pending", 1)
        assert row.last_error
        await make_due(maker)
        assert await drain(maker, [consumer]) == 1
        [row] = await consumptions(maker)
        assert (row.status, row.attempts) == ("dead", 2)

    async def test_a_subscribed_topic_without_a_handler_is_retried_not_dropped(
        self, committed_db: str, maker: Maker
    ) -> None:
        await emit_committed(maker)
        consumer = Consumer(name="triage.intake", handlers={})
        assert await drain(maker, [consumer]) == 1
        [row] = await consumptions(maker)
        assert (row.status, row.last_error) == ("pending", "NoHandler")

    async def test_each_consumer_processes_an_event_once(
        self, committed_db: str, maker: Maker
    ) -> None:
        calls: list[str] = []

        def handler_for(name: str) -> Consumer:
            async def handle(session: AsyncSession, event: OutboxEvent) -> None:
                calls.append(name)

            return Consumer(name=name, handlers={"referral.received": handle})

        await emit_committed(maker)
        async with transaction(maker) as s:  # a second subscriber for the same event
            event_id = (await s.scalars(select(OutboxEvent.id))).one()
            s.add(EventConsumption(consumer="audit.mirror", event_id=event_id))
        consumers = [handler_for("triage.intake"), handler_for("audit.mirror")]
        assert await drain(maker, consumers) == 2
        assert await drain(maker, consumers) == 0
        await make_due(maker)  # even when "due" again, done rows are never re-run
        assert await drain(maker, consumers) == 0
        assert sorted(calls) == ["audit.mirror", "triage.intake"]

    async def test_events_are_handled_in_order_of_creation(
        self, committed_db: str, maker: Maker
    ) -> None:
        order: list[str] = []

        async def handler(session: AsyncSession, event: OutboxEvent) -> None:
            order.append(event.payload["reference"])

        for n in range(5):
            async with transaction(maker) as s:
                await emit(s, received(f"FD-{n}"), producer="r")
        consumer = Consumer(name="triage.intake", handlers={"referral.received": handler})
        assert await drain(maker, [consumer]) == 5
        assert order == [f"FD-{n}" for n in range(5)]

    def test_the_retry_schedule_backs_off_and_caps(self) -> None:
        delays = [retry_delay(n) for n in range(1, MAX_ATTEMPTS + 1)]
        assert delays[0] == timedelta(seconds=5)
        assert delays == sorted(delays)
        assert delays[-1] == timedelta(hours=1)


class TestConcurrentDrainers:
    async def test_several_processes_handle_each_event_exactly_once(
        self, committed_db: str, maker: Maker
    ) -> None:
        events = 120
        await emit_committed(maker, events)
        drainers = [
            subprocess.Popen(
                [sys.executable, "-m", "services.tools.drainer", committed_db],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        try:
            counts = [int(p.communicate(timeout=120)[0].split()[-1]) for p in drainers]
        finally:
            for p in drainers:
                p.kill()
                p.wait()
        assert sum(counts) == events
        async with transaction(maker) as s:
            effects = (
                await s.execute(
                    select(AuditEntry.entity_id, func.count()).group_by(AuditEntry.entity_id)
                )
            ).all()
            statuses = (await s.scalars(select(EventConsumption.status).distinct())).all()
        assert len(effects) == events
        assert {count for _, count in effects} == {1}
        assert statuses == ["done"]

    async def test_concurrent_drains_in_one_process_share_the_work(
        self, committed_db: str, maker: Maker
    ) -> None:
        seen: list[uuid.UUID] = []

        async def handler(session: AsyncSession, event: OutboxEvent) -> None:
            seen.append(event.id)
            await asyncio.sleep(0)

        await emit_committed(maker, 60)
        consumer = Consumer(name="triage.intake", handlers={"referral.received": handler})
        counts = await asyncio.gather(*(drain(maker, [consumer]) for _ in range(4)))
        assert sum(counts) == 60
        assert len(seen) == len(set(seen)) == 60


class TestWorker:
    async def test_notify_wakes_a_waiting_worker(self, committed_db: str, maker: Maker) -> None:
        handled = asyncio.Event()

        async def handler(session: AsyncSession, event: OutboxEvent) -> None:
            handled.set()

        consumer = Consumer(name="triage.intake", handlers={"referral.received": handler})
        # A poll interval far longer than the wait below: only NOTIFY can wake it in time.
        worker = Worker(
            name="t", maker=maker, database_url=committed_db, consumers=[consumer], poll=600
        )
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        try:
            # Until it LISTENs and waits with nothing in hand.
            await asyncio.wait_for(worker.idle.wait(), timeout=30)
            assert worker._listener is not None
            await emit_committed(maker)
            await asyncio.wait_for(handled.wait(), timeout=30)
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=30)
        [row] = await consumptions(maker)
        assert row.status == "done"

    async def test_a_worker_survives_a_failing_pass_and_stops_on_request(
        self, committed_db: str, maker: Maker, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        worker = Worker(name="t", maker=maker, database_url=committed_db, consumers=[], poll=0.05)
        passes = {"n": 0}

        async def flaky_tick() -> int:
            passes["n"] += 1
            if passes["n"] == 1:
                raise ConnectionError("database went away")
            return 0

        monkeypatch.setattr(worker, "tick", flaky_tick)
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        await until(lambda: passes["n"] >= 3, what="three passes of the worker")
        stop.set()
        await asyncio.wait_for(task, timeout=30)
        assert passes["n"] >= 3

    async def test_periodic_jobs_run_and_their_errors_are_contained(
        self, committed_db: str, maker: Maker
    ) -> None:
        from services.events.consumer import Periodic

        runs: list[str] = []

        async def good(_: Maker) -> int:
            runs.append("good")
            return 1

        async def bad(_: Maker) -> int:
            runs.append("bad")
            raise RuntimeError("x")

        worker = Worker(
            name="t",
            maker=maker,
            database_url=committed_db,
            periodic=[Periodic("bad", 3600, bad), Periodic("good", 3600, good)],
        )
        await worker.tick()
        await worker.tick()  # not due again within the hour
        assert runs == ["bad", "good"]

    async def test_process_one_reports_when_nothing_is_due(
        self, committed_db: str, maker: Maker
    ) -> None:
        consumer = Consumer(name="triage.intake", handlers={})
        assert await process_one(maker, consumer) is False


class TestOneRetryPolicy:
    def test_the_consumer_schedule_is_the_shared_retry_type(self) -> None:
        assert isinstance(EVENT_RETRY, RetryPolicy)
        waits = [retry_delay(n).total_seconds() for n in range(1, 9)]
        assert waits == [5, 30, 120, 600, 1800, 3600, 3600, 3600]
