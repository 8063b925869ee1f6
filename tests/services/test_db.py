"""One request = one transaction: committed before the response, rolled back on any error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from services import db
from services.app import create_service_app
from services.db import SessionDep, async_url, create_engine, sync_url, transaction
from services.errors import Conflict
from services.models.platform import CouncilCalendar

Maker = async_sessionmaker[AsyncSession]


def writer_app(maker: Maker) -> FastAPI:
    router = APIRouter(prefix="/v1/db-probe")

    @router.post("/{council_id}", status_code=201)
    async def create_db_probe(council_id: str, session: SessionDep) -> dict[str, bool]:
        """Write a row; say whether another connection can already see it (it must not)."""
        session.add(CouncilCalendar(council_id=council_id, name="x", office_hours={}, settings={}))
        await session.flush()
        async with transaction(maker) as other:
            visible = await other.get(CouncilCalendar, council_id) is not None
        if council_id.startswith("conflict"):
            raise Conflict()
        if council_id.startswith("crash"):
            raise RuntimeError("boom")
        return {"visible_before_commit": visible}

    return create_service_app(
        service="probe", title="probe", description="DB probe.", routers=[router]
    )


@pytest.fixture
async def client(committed_db: str, maker: Maker) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=writer_app(maker))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def exists(maker: Maker, council_id: str) -> bool:
    async with transaction(maker) as s:
        return await s.get(CouncilCalendar, council_id) is not None


class TestRequestTransaction:
    async def test_the_change_is_committed_before_the_response_arrives(
        self, client: httpx.AsyncClient, maker: Maker
    ) -> None:
        response = await client.post("/v1/db-probe/ok-1")
        assert response.status_code == 201
        assert response.json() == {"visible_before_commit": False}
        assert await exists(maker, "ok-1")

    async def test_a_domain_error_rolls_the_change_back(
        self, client: httpx.AsyncClient, maker: Maker
    ) -> None:
        response = await client.post("/v1/db-probe/conflict-1")
        assert response.status_code == 409
        assert not await exists(maker, "conflict-1")

    async def test_an_unexpected_error_rolls_the_change_back(
        self, client: httpx.AsyncClient, maker: Maker
    ) -> None:
        response = await client.post("/v1/db-probe/crash-1")
        assert response.status_code == 500
        assert not await exists(maker, "crash-1")

    async def test_a_worker_transaction_commits_or_rolls_back_as_a_unit(
        self, committed_db: str, maker: Maker
    ) -> None:
        async def fails_half_way() -> None:
            async with transaction(maker) as s:
                s.add(CouncilCalendar(council_id="w-1", name="x", office_hours={}, settings={}))
                await s.flush()
                raise ValueError("stop")

        with pytest.raises(ValueError, match="stop"):
            await fails_half_way()
        async with transaction(maker) as s:
            s.add(CouncilCalendar(council_id="w-2", name="x", office_hours={}, settings={}))
        async with transaction(maker) as s:
            ids = (await s.scalars(select(CouncilCalendar.council_id))).all()
        assert list(ids) == ["w-2"]


class TestUrls:
    @pytest.mark.parametrize(
        "url",
        [
            "postgresql://u:p%40ss@db:5432/frontdoor",
            "postgresql+psycopg://u:p%40ss@db:5432/frontdoor",
            "postgresql+asyncpg://u:p%40ss@db:5432/frontdoor",
        ],
    )
    def test_any_driver_prefix_maps_to_the_right_driver_keeping_the_password(
        self, url: str
    ) -> None:
        assert async_url(url) == "postgresql+asyncpg://u:p%40ss@db:5432/frontdoor"
        assert sync_url(url) == "postgresql+psycopg://u:p%40ss@db:5432/frontdoor"

    def test_an_embedded_socket_url_keeps_its_host_query(self) -> None:
        url = "postgresql://postgres:@/postgres?host=/tmp/x/pgdata"
        assert make_url(async_url(url)).query["host"] == "/tmp/x/pgdata"


class TestStaleConnections:
    async def test_a_connection_dropped_while_idle_is_replaced_not_failed(
        self, database_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        engine, other = create_engine(database_url, pool_size=1), create_engine(database_url)
        try:
            async with engine.connect() as conn:
                pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            async with other.connect() as conn:
                await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                await _until_gone(conn, pid)
            monkeypatch.setattr(db, "PING_IF_IDLE_SECONDS", 0.0)  # ping on every checkout
            async with engine.connect() as conn:
                fresh = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            assert fresh != pid
        finally:
            await engine.dispose()
            await other.dispose()

    async def test_a_busy_connection_is_not_pinged(
        self, database_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        engine = create_engine(database_url, pool_size=1)
        pings: list[object] = []
        monkeypatch.setattr(engine.sync_engine.dialect, "do_ping", pings.append)
        try:
            for _ in range(3):
                async with engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
            assert pings == []
        finally:
            await engine.dispose()


async def _until_gone(conn: AsyncConnection, pid: int, timeout: float = 30.0) -> None:
    """Poll until the terminated backend has left pg_stat_activity.

    PostgreSQL keeps one snapshot of pg_stat_activity per transaction, so each poll ends its
    transaction: polling inside one would see the backend for as long as the first poll did."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    query = text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
    while True:
        present = (await conn.execute(query, {"pid": pid})).scalar_one()
        await conn.rollback()
        if not present:
            return
        assert loop.time() < deadline, "the terminated backend never went away"
        await asyncio.sleep(0.02)
