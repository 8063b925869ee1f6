"""The triage worker: its event consumers and periodic jobs."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.events.consumer import Worker


def build_worker(maker: async_sessionmaker[AsyncSession], database_url: str) -> Worker:
    return Worker(name="triage", maker=maker, database_url=database_url)
