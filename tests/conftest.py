"""Shared fixtures: a migrated real PostgreSQL, rolled-back sessions, API clients, tokens."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services import db
from services.auth import Role, mint_token
from services.events.wakeup import wakeup
from services.settings import get_settings
from tests.database import reset_schema, test_database_url, truncate_all


@pytest.fixture(scope="session")
def database_url() -> str:
    url = test_database_url()
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("ENVIRONMENT", "test")
    # One test token sends hundreds of writes a minute and many tests fail authentication on
    # purpose: the limits are off for the suite; tests/services/test_ratelimit.py turns them on.
    os.environ.setdefault("RATE_LIMIT_ENABLED", "false")
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    db.get_sessionmaker.cache_clear()
    reset_schema(url)
    return url


@pytest.fixture(scope="session", autouse=True)
async def driver_pool_closed() -> AsyncIterator[None]:
    """The wake-ups the API schedules, sent, and the driver pool they use, closed at the end."""
    yield
    await wakeup.flush()
    await db.driver_pool.close()


@pytest.fixture(scope="session")
def app_database_url(database_url: str) -> str:
    """The least-privileged role's URL (the migration created the role and its grants)."""
    return db.resolve_app_database_url(get_settings())


@pytest.fixture(scope="session")
async def engine(app_database_url: str) -> AsyncIterator[AsyncEngine]:
    """The application's own role: what it may not do (edit the audit log) fails here too."""
    eng = db.create_engine(app_database_url, pool_size=5)
    yield eng
    await eng.dispose()


@pytest.fixture(scope="session")
async def maker(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """The application's own sessionmaker (real commits): pair it with `committed_db`."""
    yield db.get_sessionmaker()
    await db.get_engine().dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session inside an outer transaction that is rolled back after the test."""
    async with engine.connect() as conn:
        outer = await conn.begin()
        maker = async_sessionmaker(
            bind=conn,
            expire_on_commit=False,
            autoflush=False,
            join_transaction_mode="create_savepoint",
        )
        async with maker() as s:
            yield s
        await outer.rollback()


@pytest.fixture
def committed_db(database_url: str) -> Iterator[str]:
    """For tests whose separate processes must see committed rows: tables emptied after."""
    truncate_all(database_url)
    yield database_url
    truncate_all(database_url)


ClientFactory = Callable[[FastAPI], httpx.AsyncClient]


@pytest.fixture
def client_for(session: AsyncSession) -> Iterator[ClientFactory]:
    """`client_for(app)`: an httpx client on the app, sharing the test's rolled-back session."""
    apps: list[FastAPI] = []

    async def _session_override() -> AsyncIterator[AsyncSession]:
        async with session.begin_nested():
            yield session

    async def _connection_override() -> AsyncIterator[asyncpg.Connection]:
        # The autocommit connection's one statement runs in a savepoint of the test's
        # transaction instead: rolled back with it, and undone alone when it fails.
        async with session.begin_nested():
            yield await db.driver_connection(session)

    def make(app: FastAPI) -> httpx.AsyncClient:
        app.dependency_overrides[db.get_session] = _session_override
        app.dependency_overrides[db.get_connection] = _connection_override
        apps.append(app)
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")

    yield make
    for app in apps:
        app.dependency_overrides.clear()


TokenFactory = Callable[..., dict[str, str]]


@pytest.fixture
def auth(database_url: str) -> TokenFactory:
    """`auth("referrer", agency_id="police-wy")` -> an Authorization header."""

    def make(role: str, **claims: Any) -> dict[str, str]:
        token = mint_token(
            get_settings(), sub=claims.pop("sub", f"test-{role}"), role=Role(role), **claims
        )
        return {"Authorization": f"Bearer {token}"}

    return make
