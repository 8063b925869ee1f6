"""The async SQLAlchemy engine and the one-request-one-transaction session dependency."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Annotated

from fastapi import Depends
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


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        async_url(url), pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )


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
