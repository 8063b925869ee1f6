"""A separate drainer process for the concurrency test: `python -m services.tools.drainer URL`.

Its handler writes one audit row per event (the business effect) in the claiming transaction;
the test then checks that every event had its effect exactly once across all processes.
"""

from __future__ import annotations

import asyncio
import sys

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.audit import record
from services.db import create_engine
from services.events.consumer import Consumer, drain
from services.logging import configure_logging
from services.models.platform import OutboxEvent
from services.settings import FrontdoorSettings

CONSUMER = "triage.intake"


async def _effect(session: AsyncSession, event: OutboxEvent) -> None:
    await record(
        session,
        service="drainer",
        actor=None,
        action="handled",
        entity_type="event",
        entity_id=event.id,
    )
    await asyncio.sleep(0.002)  # widen the window in which drainers overlap


async def main(url: str) -> int:
    configure_logging(FrontdoorSettings(log_level="WARNING"))
    engine = create_engine(url, pool_size=2)
    maker = async_sessionmaker(engine, expire_on_commit=False)
    consumer = Consumer(name=CONSUMER, handlers={"referral.received": _effect})
    try:
        return await drain(maker, [consumer], limit=100_000)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    handled = asyncio.run(main(sys.argv[1]))
    sys.stdout.write(f"{handled}\n")
