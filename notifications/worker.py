"""The notifications worker, wiring only: which consumers and periodic jobs it runs.

Consumers: triage's Encompass requests (`intake.handlers`) and the front door's clock events
(`front_door.handlers`). Jobs: the delivery queue, the deadline watch (`delivery.jobs`) and the
grouped front-door alerts (`front_door.jobs`).

Deliveries are rows with `next_attempt_at`, claimed with SKIP LOCKED by a periodic job (woken
early by the outbox's NOTIFY when new alerts arrive), so restarts lose nothing and any number
of workers can run side by side.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifications.delivery.dispatch import Dispatcher
from notifications.delivery.jobs import watch_deadlines
from notifications.delivery.leases import LeaseKeeper
from notifications.delivery.transport import make_client
from notifications.front_door.handlers import front_door_consumer
from notifications.front_door.jobs import front_door_alerts
from notifications.intake.handlers import intake_consumer
from notifications.settings import get_notifications_settings
from services.events.consumer import Periodic, Worker

# Due deliveries are looked for this often (seconds); a NOTIFY wakes the loop sooner.
DELIVERY_EVERY = 0.25
# Fallback, escalation and digest rules work in minutes; every 15 s is ample.
DEADLINE_WATCH_EVERY = 15.0
# Front-door alerts gather for a minute and go once per window; every 15 s is ample.
FRONT_DOOR_ALERTS_EVERY = 15.0


def build_worker(maker: async_sessionmaker[AsyncSession], database_url: str) -> Worker:
    settings = get_notifications_settings()
    client = make_client(settings)
    dispatcher = Dispatcher(maker, settings, client, leases=LeaseKeeper(database_url))

    async def deliver(_: async_sessionmaker[AsyncSession]) -> int:
        # Starts what is due and returns: sends finish on their own, recorded next step.
        return await dispatcher.step()

    async def stop_delivering() -> None:
        await dispatcher.close()
        await client.aclose()

    async def watch(m: async_sessionmaker[AsyncSession]) -> int:
        return await watch_deadlines(m, settings)

    async def alerts(m: async_sessionmaker[AsyncSession]) -> int:
        return await front_door_alerts(m, settings)

    return Worker(
        name="notifications",
        maker=maker,
        database_url=database_url,
        consumers=[intake_consumer(settings), front_door_consumer(settings)],
        periodic=[
            Periodic("notifications.deliver", DELIVERY_EVERY, deliver),
            Periodic("notifications.deadlines", DEADLINE_WATCH_EVERY, watch),
            Periodic("notifications.front_door_alerts", FRONT_DOOR_ALERTS_EVERY, alerts),
        ],
        poll=1.0,
        on_stop=[stop_delivering],
    )
