"""The async SQLAlchemy engine and the one-request-one-transaction session dependency."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy import event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from services.embedded_db import start_embedded
from services.settings import FrontdoorSettings, get_settings


def resolve_database_url(settings: FrontdoorSettings) -> str:
    """The libpq URL to use: `DATABASE_URL`, else the embedded server (started on demand)."""
    if settings.database_url:
        return settings.database_url
    return start_embedded(settings.embedded_db_dir)


def async_url(url: str) -> str:
    """The same URL with the asyncpg driver, whatever driver it named."""
    return make_url(url).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def sync_url(url: str) -> str:
    """The same URL with the psycopg (v3) driver, for Alembic and tooling."""
    return make_url(url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


# A pooled connection idle for longer than this is pinged before it is handed out, so one
# dropped while the pool sat idle (a database restart, a firewall's idle timeout) is replaced
# instead of failing a request. SQLAlchemy's own `pool_pre_ping` pings on EVERY checkout; with
# asyncpg that is three round trips (BEGIN, ";", ROLLBACK) and ~0.1 ms of CPU per request. A
# connection that breaks while in steady use fails its statement, and SQLAlchemy then
# invalidates the pool, as it would with `pool_pre_ping`.
PING_IF_IDLE_SECONDS = 5.0
_CHECKED_IN = "frontdoor_checked_in"


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    engine = create_async_engine(async_url(url), pool_size=pool_size, max_overflow=pool_size)
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    @event.listens_for(pool, "connect")
    @event.listens_for(pool, "checkin")
    def _stamp(_: object, record: Any, *__: object) -> None:
        if record is not None:
            record.info[_CHECKED_IN] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _: object) -> None:
        idle = time.monotonic() - record.info.get(_CHECKED_IN, 0.0)
        if idle < PING_IF_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:  # the pool discards it and hands out a fresh one
            raise exc.DisconnectionError() from error

    return engine


@lru_cache
def get_engine() -> AsyncEngine:
    settings = get_settings()
    return create_engine(resolve_database_url(settings), pool_size=settings.db_pool_size)


@lru_cache
def get_sessionmaker() -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(get_engine(), expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def transaction(
    maker: async_sessionmaker[AsyncSession] | None = None,
) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on any error. Workers use this per job."""
    async with (maker or get_sessionmaker())() as session, session.begin():
        yield session


async def get_session() -> AsyncIterator[AsyncSession]:
    """FastAPI dependency: the request's one transaction (overridden in tests)."""
    async with transaction() as session:
        yield session


# scope="function": commit before the response is sent, so a 201 means the row is durable.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
