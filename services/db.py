"""The async SQLAlchemy engine and the one-request-one-transaction session dependency.

A hot route that is a single statement can skip the ORM session: `ConnectionDep` hands it a
pooled asyncpg connection in autocommit, where that one statement is its own transaction.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, FastAPI
from sqlalchemy import event, exc
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
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
    if settings.app_database_url:
        # A process given only the application's URL (an API or worker in production, which
        # need not know the owner's password) uses it; migrations as that role would fail.
        return settings.app_database_url
    return start_embedded(settings.embedded_db_dir)


def resolve_app_database_url(settings: FrontdoorSettings) -> str:
    """The URL the services connect with: the least-privileged application role.

    `APP_DATABASE_URL` when set; else the owner's URL (`resolve_database_url`) with
    `DATABASE_APP_ROLE` as its user (and `DATABASE_APP_PASSWORD` as its password, if any);
    the owner's URL itself when the role is empty.
    """
    if settings.app_database_url:
        return settings.app_database_url
    owner = resolve_database_url(settings)
    if not settings.database_app_role:
        return owner
    url = make_url(owner).set(
        username=settings.database_app_role, password=settings.database_app_password
    )
    return url.render_as_string(hide_password=False)


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
    return create_engine(resolve_app_database_url(settings), pool_size=settings.db_pool_size)


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


def libpq_url(url: str) -> str:
    """The same URL as libpq (and asyncpg) read it, without a SQLAlchemy driver name."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class DriverPool:
    """One asyncpg pool per process and event loop, created on first use.

    For routes that are one statement: no ORM session, no greenlet, no BEGIN/COMMIT round
    trips (the statement commits on its own, before the response). It is sized like the
    engine's pool, and a connection that breaks is replaced on the next acquire.

    A released connection is not sent asyncpg's reset query (UNLISTEN, RESET ALL, advisory
    unlocks; one more round trip per request): the statements run here never change session
    state. asyncpg still rolls back a transaction left open, whatever `reset` says.
    """

    def __init__(self) -> None:
        self._pool: asyncpg.Pool | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None

    async def get(self) -> asyncpg.Pool:
        loop = asyncio.get_running_loop()
        if self._pool is not None and self._loop is loop:
            return self._pool
        if self._lock is None or self._loop is not loop:
            self._lock, self._loop, self._pool = asyncio.Lock(), loop, None
        async with self._lock:
            if self._pool is None:
                settings = get_settings()
                size = settings.db_pool_size
                self._pool = await asyncpg.create_pool(
                    libpq_url(resolve_app_database_url(settings)),
                    min_size=1,
                    max_size=2 * size,
                    reset=_no_session_state,
                )
        return self._pool

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None and self._loop is asyncio.get_running_loop():
            await pool.close()


async def _no_session_state(_: asyncpg.Connection) -> None:
    """Nothing to reset: see `DriverPool`."""


driver_pool = DriverPool()


async def get_connection() -> AsyncIterator[asyncpg.Connection]:
    """FastAPI dependency: a pooled asyncpg connection in autocommit (overridden in tests).

    Only for a route whose writes are ONE statement: each statement commits on its own.
    """
    async with (await driver_pool.get()).acquire() as conn:
        yield conn


def app_connection(app: FastAPI) -> AbstractAsyncContextManager[asyncpg.Connection]:
    """`get_connection` outside FastAPI's dependency solving, honouring the app's override of
    it (the tests'), for a route that resolves its own inputs (see referral_api.intake_route)."""
    override = app.dependency_overrides.get(get_connection)
    return _Pooled() if override is None else asynccontextmanager(override)()


class _Pooled:
    """`get_connection` as a plain context manager (no generator to drive per request)."""

    async def __aenter__(self) -> asyncpg.Connection:
        self._acquired = (await driver_pool.get()).acquire()
        return await self._acquired.__aenter__()

    async def __aexit__(self, *exc: object) -> None:
        await self._acquired.__aexit__(*exc)


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under a session, inside the session's transaction."""
    raw = await (await session.connection()).get_raw_connection()
    return raw.driver_connection


ConnectionDep = Annotated[asyncpg.Connection, Depends(get_connection, scope="function")]


_ASYNCPG = asyncpg_dialect()  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class DriverStatement:
    """A SQLAlchemy statement compiled once for asyncpg: `$n` placeholders, named inputs."""

    sql: str
    names: tuple[str, ...]

    def args(self, values: Mapping[str, Any]) -> list[Any]:
        return [values[name] for name in self.names]


def driver_statement(statement: Any) -> DriverStatement:
    """Compile a Core statement (or `text()`) for `asyncpg.Connection.fetch*`, at import time:
    the tables and columns stay those of the models, and no request pays for compiling."""
    compiled = statement.compile(dialect=_ASYNCPG)
    return DriverStatement(compiled.string, tuple(compiled.positiontup or ()))
