"""The notifications worker: triage's Encompass events, the delivery queue, the deadline watch.

Deliveries are rows with `next_attempt_at`, claimed with SKIP LOCKED by a periodic job (woken
early by the outbox's NOTIFY when new alerts arrive), so restarts lose nothing and any number
of workers can run side by side.
"""

from __future__ import annotations

import structlog
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifications.delivery.dispatch import Dispatcher
from notifications.delivery.leases import LeaseKeeper
from notifications.delivery.transport import make_client
from notifications.delivery.watch import watch_deadlines
from notifications.front_door.handlers import front_door_consumer
from notifications.front_door.jobs import front_door_alerts
from notifications.intake.schemas import ChildIn, IncidentIn
from notifications.intake.service import IntakeContext, ingest_one
from notifications.settings import NotificationsSettings, get_notifications_settings
from services.events.consumer import Consumer, Periodic, Worker
from services.events.contracts import EncompassRequested
from services.models.platform import OutboxEvent

log = structlog.get_logger(__name__)

# Due deliveries are looked for this often (seconds); a NOTIFY wakes the loop sooner.
DELIVERY_EVERY = 0.25
# Fallback, escalation and digest rules work in minutes; every 15 s is ample.
DEADLINE_WATCH_EVERY = 15.0
# Front-door alerts gather for a minute and go once per window; every 15 s is ample.
FRONT_DOOR_ALERTS_EVERY = 15.0


# Triage's free-text education statuses, in this service's words.
_EHE_WORDS = frozenset({"ehe", "elective_home_education", "home_educated", "home_education"})
_STATUSES = frozenset({"on_roll", "ehe", "cme", "unknown"})


def _education_status(raw: str | None) -> str | None:
    if raw is None:
        return None
    value = raw.strip().lower().replace(" ", "_").replace("-", "_")
    if value in _EHE_WORDS:
        return "ehe"
    return value if value in _STATUSES else "unknown"


def _valid_children(payload: EncompassRequested) -> list[ChildIn]:
    """Each child checked on its own: one unusable record does not drop its siblings."""
    children: list[ChildIn] = []
    for child in payload.children:
        raw = child.model_dump()
        raw["education_status"] = _education_status(child.education_status)
        try:
            children.append(ChildIn.model_validate(raw))
        except ValidationError as exc:
            log.warning("encompass_child_invalid", errors=exc.error_count())
    return children


def intake_consumer(settings: NotificationsSettings) -> Consumer:
    async def on_encompass_requested(session: AsyncSession, event: OutboxEvent) -> None:
        payload = EncompassRequested.model_validate(event.payload)
        children = _valid_children(payload)
        try:
            data = IncidentIn(
                police_reference=payload.police_reference,
                incident_at=payload.incident_at,
                area=payload.area,
                children=children,
                adult_roles=payload.adult_roles,
                circumstances=payload.circumstances,
            )
        except ValidationError as exc:
            # A retry cannot fix the data; the error count only (messages may quote values).
            log.warning(
                "encompass_request_invalid", event_id=str(event.id), errors=exc.error_count()
            )
            return
        ctx = IntakeContext(
            session=session,
            settings=settings,
            council_id=payload.council_id,
            force_id=payload.force_id,
            actor=None,
            source="triage",
        )
        result = await ingest_one(ctx, data, contact_id=payload.contact_id)
        log.info("encompass_request_ingested", event_id=str(event.id), status=result.status)

    return Consumer(
        name="notifications.intake", handlers={"dv.encompass_requested": on_encompass_requested}
    )


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
