"""Fixtures of the web platform's tests: an app with pages on the test's rolled-back session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI

from services.settings import get_settings
from services.web.settings import get_web_settings
from tests.conftest import ClientFactory


@pytest.fixture(scope="session")
def web_app() -> FastAPI:
    from services.combined import create_combined_app

    return create_combined_app()


@pytest.fixture
async def web(client_for: ClientFactory, web_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(web_app) as c:
        yield c


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    """Settings read again from the environment (a test's monkeypatched variables)."""
    get_settings.cache_clear()
    get_web_settings.cache_clear()
    yield
    get_settings.cache_clear()
    get_web_settings.cache_clear()
