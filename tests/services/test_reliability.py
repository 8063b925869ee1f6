"""The platform under database trouble: 503 with Retry-After, time limits, pools, readiness."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator

import asyncpg
import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from services import app as app_module
from services import db
from services.app import READINESS_TIMEOUT_SECONDS, create_service_app
from services.db import ConnectionDep, SessionDep, create_engine, libpq_url, transaction
from services.errors import RETRY_AFTER_SECONDS, InternalError, is_database_unavailable
from services.settings import FrontdoorSettings
from tests.services.test_app import log_lines  # noqa: F401 - the fixture

# Port 9 (discard) on loopback: nothing listens, a connection is refused at once.
REFUSED = "postgresql://postgres@127.0.0.1:9/none"


def probe_app() -> FastAPI:
    router = APIRouter(prefix="/v1/probe")

    @router.get("/count")
    async def count_probe_things(session: SessionDep) -> dict[str, int]:
        """One statement through the request's session."""
        return {"n": int((await session.execute(text("SELECT 1"))).scalar_one())}

    @router.get("/file")
    async def read_probe_file() -> dict[str, str]:
        """Code that is not the database's fails with an OSError (a file that is not there)."""
        with open("/nonexistent/frontdoor/probe.txt") as handle:
            return {"text": handle.read()}

    @router.get("/wait")
    async def wait_probe_things() -> dict[str, str]:
        """Code that is not the database's times out (its own deadline)."""
        await asyncio.wait_for(asyncio.Event().wait(), 0.01)
        return {"waited": "yes"}

    @router.get("/held")
    async def held_probe_connection(conn: ConnectionDep) -> dict[str, int]:
        """A statement on a directly pooled (asyncpg) connection."""
        return {"n": int(await conn.fetchval("SELECT 1"))}

    @router.get("/slow")
    async def slow_probe_things(session: SessionDep) -> dict[str, str]:
        """A statement that outlives the statement timeout."""
        await session.execute(text("SELECT pg_sleep(30)"))
        return {"slept": "yes"}

    return create_service_app(
        service="probe", title="probe", description="Platform probe.", routers=[router]
    )


def _session_from(engine: AsyncEngine, app: FastAPI) -> None:
    maker = async_sessionmaker(engine, expire_on_commit=False)

    async def override() -> AsyncIterator[object]:
        async with transaction(maker) as session:
            yield session

    app.dependency_overrides[db.get_session] = override


@pytest.fixture
def probe(database_url: str) -> FastAPI:
    """Built before `log_lines` (building an app configures logging)."""
    return probe_app()


@contextlib.asynccontextmanager
async def client_on(
    engine: AsyncEngine, app: FastAPI | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    app = app or probe_app()
    _session_from(engine, app)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client
    finally:
        await engine.dispose()


class TestOutagesAnswer503:
    async def test_a_refused_connection_is_a_503_with_retry_after(
        self,
        probe: FastAPI,
        log_lines: io.StringIO,  # noqa: F811
    ) -> None:
        async with client_on(create_engine(REFUSED, pool_size=1), probe) as client:
            response = await client.get("/v1/probe/count")
        assert response.status_code == 503
        assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
        assert response.json()["error"] == "DatabaseUnavailable"
        assert "unhandled_error" not in log_lines.getvalue()
        assert "database_unavailable" in log_lines.getvalue()

    async def test_a_statement_timeout_is_a_503_in_bounded_time(self, database_url: str) -> None:
        settings = FrontdoorSettings(db_statement_timeout_ms=200)
        engine = create_engine(database_url, pool_size=1, settings=settings)
        async with client_on(engine) as client:
            # Without a statement timeout this would sleep 30 s; the guard fails it at 20.
            response = await asyncio.wait_for(client.get("/v1/probe/slow"), 20)
        assert response.status_code == 503
        assert "retry-after" in response.headers

    async def test_a_healthy_database_still_answers(self, database_url: str) -> None:
        async with client_on(create_engine(database_url, pool_size=1)) as client:
            response = await client.get("/v1/probe/count")
        assert (response.status_code, response.json()) == (200, {"n": 1})

    async def test_a_frozen_server_at_connect_is_a_503(self, probe: FastAPI) -> None:
        # The connect timeout is a TimeoutError out of the driver: the database's, so a 503.
        settings = FrontdoorSettings(db_connect_timeout_seconds=0.3)
        with blackhole() as (port, _):
            frozen = create_engine(
                f"postgresql://postgres@127.0.0.1:{port}/x", pool_size=1, settings=settings
            )
            async with client_on(frozen, probe) as client:
                response = await asyncio.wait_for(client.get("/v1/probe/count"), 20)
        assert response.status_code == 503
        assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)

    @pytest.mark.parametrize("pooled", [True, False], ids=["pooled", "own"])
    async def test_a_held_connection_the_server_closed_is_a_503(
        self,
        pooled: bool,
        database_url: str,
        probe: FastAPI,
        log_lines: io.StringIO,  # noqa: F811
    ) -> None:
        # asyncpg says "connection is closed" on a connection of its own, and takes a pooled
        # one back ("released back to the pool"): both are the server's doing.
        url = libpq_url(database_url)
        pool = await asyncpg.create_pool(url, min_size=1, max_size=1)
        killer = await asyncpg.connect(url)

        async def closed() -> AsyncIterator[asyncpg.Connection]:
            async with contextlib.AsyncExitStack() as stack:
                if pooled:
                    conn = await stack.enter_async_context(pool.acquire())
                else:
                    conn = await asyncpg.connect(url)
                    stack.push_async_callback(conn.close)
                gone = asyncio.Event()
                conn.add_termination_listener(lambda _: gone.set())
                # The server ends the session while the request holds the connection.
                await killer.execute("SELECT pg_terminate_backend($1)", conn.get_server_pid())
                await asyncio.wait_for(gone.wait(), 10)
                yield conn

        probe.dependency_overrides[db.get_connection] = closed
        try:
            transport = httpx.ASGITransport(app=probe)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                response = await client.get("/v1/probe/held")
                probe.dependency_overrides[db.get_connection] = pooled_from(pool)
                again = await client.get("/v1/probe/held")  # the pool opens another
        finally:
            await killer.close()
            await pool.close()
        assert response.status_code == 503
        assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
        assert response.json()["error"] == "DatabaseUnavailable"
        assert (again.status_code, again.json()) == (200, {"n": 1})
        assert "unhandled_error" not in log_lines.getvalue()


def pooled_from(pool: asyncpg.Pool) -> Callable[[], AsyncIterator[asyncpg.Connection]]:
    async def pooled() -> AsyncIterator[asyncpg.Connection]:
        async with pool.acquire() as conn:
            yield conn

    return pooled


class TestOtherFailuresStay500:
    """An OSError or a TimeoutError that is not the database's is a bug: 500, logged."""

    @pytest.mark.parametrize("path", ["/v1/probe/file", "/v1/probe/wait"])
    async def test_a_missing_file_or_its_own_timeout_answers_500(
        self,
        path: str,
        database_url: str,
        probe: FastAPI,
        log_lines: io.StringIO,  # noqa: F811
    ) -> None:
        async with client_on(create_engine(database_url, pool_size=1), probe) as client:
            response = await client.get(path)
        assert response.status_code == 500
        assert response.json() == {"error": "InternalError", "detail": InternalError.detail}
        assert "retry-after" not in response.headers
        assert "unhandled_error" in log_lines.getvalue()
        assert "database_unavailable" not in log_lines.getvalue()


class TestTimeLimits:
    async def test_the_engines_connections_carry_both_timeouts(self, database_url: str) -> None:
        settings = FrontdoorSettings(db_statement_timeout_ms=1234, db_lock_timeout_ms=567)
        engine = create_engine(database_url, pool_size=1, settings=settings)
        try:
            async with engine.connect() as conn:
                statement = (await conn.execute(text("SHOW statement_timeout"))).scalar()
                lock = (await conn.execute(text("SHOW lock_timeout"))).scalar()
        finally:
            await engine.dispose()
        assert (statement, lock) == ("1234ms", "567ms")

    async def test_the_intake_pool_carries_the_default_timeouts(self, database_url: str) -> None:
        pool = db.DriverPool()
        try:
            async with (await pool.get()).acquire() as conn:
                statement = await conn.fetchval("SHOW statement_timeout")
                lock = await conn.fetchval("SHOW lock_timeout")
        finally:
            await pool.close()
        assert (statement, lock) == ("30s", "10s")

    async def test_a_held_row_lock_fails_the_waiter_at_the_lock_timeout(
        self, database_url: str
    ) -> None:
        settings = FrontdoorSettings(db_lock_timeout_ms=200)
        engine = create_engine(database_url, pool_size=2, settings=settings)
        holder = await asyncpg.connect(libpq_url(database_url))
        try:
            await holder.execute("CREATE TABLE IF NOT EXISTS reliability_probe (id int)")
            await holder.execute("TRUNCATE reliability_probe")
            await holder.execute("INSERT INTO reliability_probe VALUES (1)")
            async with holder.transaction():
                await holder.execute("SELECT * FROM reliability_probe FOR UPDATE")
                with pytest.raises(DBAPIError, match="lock timeout") as raised:
                    async with engine.begin() as conn:
                        await asyncio.wait_for(
                            conn.execute(text("SELECT * FROM reliability_probe FOR UPDATE")), 20
                        )
            assert "lock timeout" in str(raised.value)
            assert is_database_unavailable(raised.value)  # so an API answers 503
        finally:
            await holder.execute("DROP TABLE IF EXISTS reliability_probe")
            await holder.close()
            await engine.dispose()


@contextlib.contextmanager
def blackhole() -> Iterator[tuple[int, list[socket.socket]]]:
    """A TCP port that accepts connections and never says a word: a frozen server."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], accepted
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()


class TestReadiness:
    async def test_readyz_answers_while_the_server_is_frozen(
        self, database_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # A connect timeout far beyond the readiness budget: only abandoning the check helps.
        settings = FrontdoorSettings(db_connect_timeout_seconds=60)
        with blackhole() as (port, accepted):
            frozen = create_engine(
                f"postgresql://postgres@127.0.0.1:{port}/x", pool_size=1, settings=settings
            )
            monkeypatch.setattr(app_module, "get_engine", lambda: frozen)
            transport = httpx.ASGITransport(app=probe_app())
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                started = time.monotonic()
                # The 30 s only keeps a hang from stalling the suite; the answer is judged below.
                response = await asyncio.wait_for(client.get("/readyz"), 30)
                elapsed = time.monotonic() - started
            # The connection to the frozen server is still open: readiness did not wait for it.
            assert accepted
            await frozen.dispose()
        # Within its documented budget (a contract, so asserted as a time; it once took 5 s).
        assert elapsed < READINESS_TIMEOUT_SECONDS
        assert response.status_code == 503
        assert response.json()["database"] is False
        assert "retry-after" in response.headers

    async def test_the_server_capacity_counts_this_connection(self, engine: AsyncEngine) -> None:
        async with engine.connect() as conn:
            capacity = await db.server_capacity(conn)
        assert capacity.in_use >= 1
        assert 0 < capacity.available < capacity.max_connections


class TestPools:
    async def test_start_up_warns_when_the_pools_could_exceed_the_server(
        self,
        database_url: str,
        log_lines: io.StringIO,  # noqa: F811
    ) -> None:
        settings = FrontdoorSettings()
        assert await db.check_pool_capacity(settings, processes=1) is not None
        assert "database_pools_exceed_server" not in log_lines.getvalue()
        capacity = await db.check_pool_capacity(settings, processes=10_000)
        assert capacity is not None
        lines = [json.loads(line) for line in log_lines.getvalue().splitlines() if line]
        (warning,) = [line for line in lines if line["event"] == "database_pools_exceed_server"]
        assert warning["pools_may_open"] == 10_000 * db.process_connection_limit(settings)
        assert warning["server_max_connections"] == capacity.max_connections

    async def test_idle_connections_are_handed_back_to_the_server(
        self, database_url: str, engine: AsyncEngine
    ) -> None:
        settings = FrontdoorSettings(db_pool_idle_seconds=0.3)
        pooled = create_engine(database_url, pool_size=4, settings=settings)
        pids: set[int] = set()

        async def hold() -> None:
            async with pooled.connect() as conn:
                pids.add(int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()))
                await conn.execute(text("SELECT pg_sleep(0.05)"))

        async def still_open() -> int:
            async with engine.connect() as conn:
                found = await conn.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)"),
                    {"pids": sorted(pids)},
                )
                return int(found.scalar_one())

        try:
            await asyncio.gather(*(hold() for _ in range(4)))  # a burst opens four
            assert await still_open() == 4
            for _ in range(100):  # then a trickle that needs one at a time
                await hold()
                if await still_open() <= 1:
                    break
                await asyncio.sleep(0.05)
            assert await still_open() <= 1
            async with pooled.connect() as conn:  # the emptied slots still serve
                assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
        finally:
            await pooled.dispose()

    async def test_a_pool_in_steady_use_keeps_its_connections(self, database_url: str) -> None:
        settings = FrontdoorSettings(db_pool_idle_seconds=0.3)
        pooled = create_engine(database_url, pool_size=2, settings=settings)
        reaper = db.reaper_of(pooled)
        assert reaper is not None

        async def hold() -> None:
            async with pooled.connect() as conn:
                await conn.execute(text("SELECT pg_sleep(0.02)"))

        try:
            for _ in range(30):  # both in use every round: nothing is surplus
                await asyncio.gather(hold(), hold())
            assert (reaper.open_connections(), reaper.reaped) == (2, 0)
        finally:
            await pooled.dispose()
