"""The async SQLAlchemy engine and the one-request-one-transaction session dependency.

A hot route that is a single statement can skip the ORM session: `ConnectionDep` hands it a
pooled asyncpg connection in autocommit, where that one statement is its own transaction.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, cast

import asyncpg
import structlog
from fastapi import Depends, FastAPI
from sqlalchemy import event, exc, text
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

from services.embedded_db import start_embedded
from services.settings import FrontdoorSettings, get_settings

log = structlog.get_logger(__name__)


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


# The client gives up this long after the server should have cancelled a statement: a frozen
# server (SIGSTOP, a hung disk) cancels nothing, so only the client's own clock still runs.
CLIENT_TIMEOUT_MARGIN_SECONDS = 5.0


def connect_args(settings: FrontdoorSettings) -> dict[str, Any]:
    """asyncpg's connect arguments: the server-side time limits, the client-side backstops."""
    server: dict[str, str] = {}
    if settings.db_statement_timeout_ms:
        server["statement_timeout"] = str(settings.db_statement_timeout_ms)
    if settings.db_lock_timeout_ms:
        server["lock_timeout"] = str(settings.db_lock_timeout_ms)
    args: dict[str, Any] = {"timeout": settings.db_connect_timeout_seconds}
    if server:
        args["server_settings"] = server
    if settings.db_statement_timeout_ms:
        args["command_timeout"] = (
            settings.db_statement_timeout_ms / 1000 + CLIENT_TIMEOUT_MARGIN_SECONDS
        )
    return args


def create_engine(
    url: str, *, pool_size: int = 10, settings: FrontdoorSettings | None = None
) -> AsyncEngine:
    settings = settings or get_settings()
    engine = create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=settings.db_connect_timeout_seconds,
        # Most recently used first: under a light load the same few connections serve every
        # request and the rest stay idle, for the reaper to hand back to the server.
        pool_use_lifo=True,
        connect_args=connect_args(settings),
    )
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    @event.listens_for(pool, "connect")
    @event.listens_for(pool, "checkin")
    def _stamp(_: object, record: ConnectionPoolEntry | None, *__: object) -> None:
        if record is not None:
            record.info[_CHECKED_IN] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _ping_if_idle(
        dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry, _: object
    ) -> None:
        idle = time.monotonic() - record.info.get(_CHECKED_IN, 0.0)
        if idle < PING_IF_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:  # the pool discards it and hands out a fresh one
            raise exc.DisconnectionError() from error

    if settings.db_pool_idle_seconds:
        reaper = IdleReaper(engine, settings.db_pool_idle_seconds)
        reaper.install()
        _REAPERS[engine.sync_engine] = reaper
    return engine


def reaper_of(engine: AsyncEngine) -> IdleReaper | None:
    return _REAPERS.get(engine.sync_engine)


_IN_USE = "frontdoor_in_use"
_REAPERS: weakref.WeakKeyDictionary[Any, IdleReaper] = weakref.WeakKeyDictionary()


class IdleReaper:
    """Hands idle pooled connections back to the server.

    SQLAlchemy's pool keeps every connection it ever opened (up to its size) for ever. This
    watches the most connections in use at once over each `idle_seconds` window; connections
    beyond that number sat unused for the whole window, and those idle at least that long are
    closed. Their pool slots stay, empty: a later burst reconnects up to what it needs.

    The close happens in a timer callback, between two steps of the event loop, so no
    request can be handed the connection half-way through (asyncpg's `terminate`, no wait).
    """

    def __init__(self, engine: AsyncEngine, idle_seconds: float) -> None:
        self.engine, self.idle_seconds = engine, idle_seconds
        self.peak = 0
        self.reaped = 0
        self._records: weakref.WeakSet[Any] = weakref.WeakSet()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_loop: asyncio.AbstractEventLoop | None = None

    def install(self) -> None:
        pool = self.engine.sync_engine.pool
        event.listen(pool, "connect", self._on_connect)
        event.listen(pool, "checkout", self._on_checkout)
        event.listen(pool, "checkin", self._on_checkin)

    def _on_connect(self, _: object, record: ConnectionPoolEntry) -> None:
        self._records.add(record)

    def _on_checkout(self, _: object, record: ConnectionPoolEntry, __: object) -> None:
        record.info[_IN_USE] = True
        self.peak = max(self.peak, self.in_use())

    def _on_checkin(self, _: object, record: ConnectionPoolEntry | None) -> None:
        if record is not None:
            record.info[_IN_USE] = False
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # returned outside any loop (garbage collection): nothing to time
            return
        # A timer set on an earlier event loop (a start-up check's) never fires: set another.
        if self._timer is not None and self._timer_loop is loop:
            return
        self._timer, self._timer_loop = loop.call_later(self.idle_seconds, self.reap), loop

    def in_use(self) -> int:
        return int(self.engine.sync_engine.pool.checkedout())  # type: ignore[attr-defined]

    def open_connections(self) -> int:
        """Pool slots holding a live connection."""
        return sum(1 for r in list(self._records) if r.dbapi_connection is not None)

    def reap(self) -> None:
        """Close the connections nobody needed over the last window (idle that long too)."""
        self._timer = None
        now = time.monotonic()
        idle = sorted(
            (
                r
                for r in list(self._records)
                if r.dbapi_connection is not None and not r.info.get(_IN_USE)
            ),
            key=lambda r: r.info.get(_CHECKED_IN, 0.0),
        )
        surplus = self.in_use() + len(idle) - max(self.peak, 1)
        for record in idle[: max(surplus, 0)]:
            if now - record.info.get(_CHECKED_IN, now) >= self.idle_seconds:
                record.invalidate()  # closes it; the slot reconnects when next handed out
                self.reaped += 1
        self.peak = self.in_use()
        if self.open_connections():
            self._timer = asyncio.get_running_loop().call_later(self.idle_seconds, self.reap)


@lru_cache
def get_engine() -> AsyncEngine:
    settings = get_settings()
    return create_engine(
        resolve_app_database_url(settings), pool_size=settings.db_pool_size, settings=settings
    )


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
        self.acquire_timeout: float | None = None

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
                    # asyncpg closes a connection idle this long (0: never).
                    max_inactive_connection_lifetime=settings.db_pool_idle_seconds,
                    **connect_args(settings),
                )
                self.acquire_timeout = settings.db_connect_timeout_seconds
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
    pool = await driver_pool.get()
    async with pool.acquire(timeout=driver_pool.acquire_timeout) as conn:
        yield conn


def app_connection(app: FastAPI) -> AbstractAsyncContextManager[asyncpg.Connection]:
    """`get_connection` outside FastAPI's dependency solving, honouring the app's override of
    it (the tests'), for a route that resolves its own inputs (see referral_api.intake_route)."""
    override = app.dependency_overrides.get(get_connection)
    return _Pooled() if override is None else asynccontextmanager(override)()


class _Pooled:
    """`get_connection` as a plain context manager (no generator to drive per request)."""

    async def __aenter__(self) -> asyncpg.Connection:
        pool = await driver_pool.get()
        self._acquired = pool.acquire(timeout=driver_pool.acquire_timeout)
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


def driver_statement(statement: ClauseElement) -> DriverStatement:
    """Compile a Core statement (or `text()`) for `asyncpg.Connection.fetch*`, at import time:
    the tables and columns stay those of the models, and no request pays for compiling."""
    compiled = cast(SQLCompiler, statement.compile(dialect=_ASYNCPG))
    return DriverStatement(compiled.string, tuple(compiled.positiontup or ()))


@dataclass(frozen=True)
class ServerCapacity:
    """How many client connections the server allows, and how many are open now."""

    max_connections: int
    reserved: int
    in_use: int

    @property
    def available(self) -> int:
        """Connection slots an ordinary role can still open."""
        return self.max_connections - self.reserved - self.in_use


# Client connections, whoever holds them. The application's role is not a superuser, and
# PostgreSQL hides `backend_type` (among others) on other roles' rows of pg_stat_activity;
# their database and role stay visible, and only client connections (and their parallel
# workers, briefly) have both. Counting only the visible `client backend` rows would see a
# server filled by other roles as empty.
CLIENT_BACKENDS = (
    "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
    "OR (backend_type IS NULL AND datid IS NOT NULL AND usesysid IS NOT NULL)"
)
_CAPACITY = (
    "SELECT current_setting('max_connections')::int, "
    "current_setting('superuser_reserved_connections')::int "
    "+ coalesce(nullif(current_setting('reserved_connections', true), ''), '0')::int, "
    f"({CLIENT_BACKENDS})::int"
)


async def server_capacity(conn: AsyncConnection) -> ServerCapacity:
    """The server's connection limit and use, over an open SQLAlchemy `AsyncConnection`."""
    row = (await conn.execute(text(_CAPACITY))).one()
    return ServerCapacity(int(row[0]), int(row[1]), int(row[2]))


def process_connection_limit(settings: FrontdoorSettings) -> int:
    """The most connections one process may open: the engine's pool and its overflow, the
    intake's asyncpg pool, and a worker's LISTEN and liveness connections."""
    size = settings.db_pool_size
    return 2 * size + 2 * size + 2


async def check_pool_capacity(
    settings: FrontdoorSettings | None = None, *, processes: int = 1
) -> ServerCapacity | None:
    """Warn (once, at start-up) when this deployment's pools could open more connections than
    the server has left; the capacity found, or None when the database does not answer."""
    settings = settings or get_settings()
    try:
        async with get_engine().connect() as conn:
            capacity = await server_capacity(conn)
    except Exception as error:
        log.warning("database_capacity_unknown", error=type(error).__name__)
        return None
    wanted = processes * process_connection_limit(settings)
    # Our own check connection is counted in `in_use`; it goes back to the pool.
    room = capacity.available + 1
    if wanted > room:
        log.warning(
            "database_pools_exceed_server",
            pools_may_open=wanted,
            server_max_connections=capacity.max_connections,
            server_reserved=capacity.reserved,
            server_in_use=capacity.in_use,
            hint="lower DB_POOL_SIZE or raise the server's max_connections",
        )
    return capacity
