"""Rate limits: writes per caller, failed authentications per address; 429 with Retry-After."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI

from services.app import create_service_app
from services.auth import Role, clear_verified_tokens, mint_token, require_roles
from services.ratelimit import SlidingWindow, limits
from services.settings import get_settings


class TestSlidingWindow:
    def test_admits_up_to_the_limit_then_says_how_long_to_wait(self) -> None:
        window = SlidingWindow(limit=3, window=60.0)
        assert [window.admit("k", now=600.0 + i) for i in range(3)] == [None, None, None]
        wait = window.admit("k", now=603.0)
        assert wait is not None
        assert 57 <= wait <= 120  # this window is full: not before the next one
        assert window.admit("other", now=603.0) is None  # keys are counted apart

    def test_the_previous_window_still_counts_while_it_overlaps(self) -> None:
        window = SlidingWindow(limit=4, window=60.0)
        for i in range(4):
            window.hit("k", now=600.0 + i)
        # 15 s into the next window, 3/4 of the previous 4 still count: 3 + 1 more = 4.
        assert window.admit("k", now=675.0) is None
        wait = window.admit("k", now=676.0)
        assert wait is not None
        assert wait >= 1

    def test_an_old_window_is_forgotten(self) -> None:
        window = SlidingWindow(limit=1, window=60.0)
        window.hit("k", now=600.0)
        assert window.admit("k", now=601.0) is not None
        assert window.admit("k", now=800.0) is None

    def test_the_wait_is_honest(self) -> None:
        window = SlidingWindow(limit=2, window=60.0)
        window.hit("k", now=600.0)
        window.hit("k", now=600.0)
        wait = window.admit("k", now=610.0)
        assert wait is not None
        assert window.admit("k", now=610.0 + wait) is None


def limited_app() -> FastAPI:
    router = APIRouter(prefix="/v1/limited")

    @router.post("/things")
    async def create_limited_thing(_: Any = Depends(require_roles(Role.admin))) -> dict[str, str]:
        """Accept a thing."""
        return {"ok": "yes"}

    @router.get("/things")
    async def list_limited_things(_: Any = Depends(require_roles(Role.admin))) -> list[str]:
        """Things."""
        return []

    return create_service_app(
        service="limited", title="limited", description="Probe.", routers=[router]
    )


@pytest.fixture
def enabled(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("RATE_LIMIT_ENABLED", "true")
    monkeypatch.setenv("RATE_LIMIT_WRITES_PER_MINUTE", "3")
    monkeypatch.setenv("RATE_LIMIT_AUTH_FAILURES_PER_MINUTE", "2")
    get_settings.cache_clear()
    limits.clear()
    clear_verified_tokens()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()
    limits.clear()


@pytest.fixture
async def client(enabled: None) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=limited_app(), client=("203.0.113.7", 4711))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


def bearer(sub: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(get_settings(), sub=sub, role=Role.admin)}"}


class TestWriteLimit:
    async def test_writes_past_the_limit_are_429_with_retry_after(
        self, client: httpx.AsyncClient
    ) -> None:
        headers = bearer("busy-system")
        codes = [(await client.post("/v1/limited/things", headers=headers)).status_code]
        codes += [(await client.post("/v1/limited/things", headers=headers)).status_code]
        codes += [(await client.post("/v1/limited/things", headers=headers)).status_code]
        refused = await client.post("/v1/limited/things", headers=headers)
        assert codes == [200, 200, 200]
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json()["error"] == "TooManyRequests"

    async def test_another_caller_and_reads_are_not_limited_by_it(
        self, client: httpx.AsyncClient
    ) -> None:
        headers = bearer("busy-system")
        for _ in range(4):
            await client.post("/v1/limited/things", headers=headers)
        assert (await client.get("/v1/limited/things", headers=headers)).status_code == 200
        other = await client.post("/v1/limited/things", headers=bearer("quiet-system"))
        assert other.status_code == 200

    async def test_nothing_is_limited_when_disabled(
        self, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("RATE_LIMIT_ENABLED", "false")
        get_settings.cache_clear()
        headers = bearer("busy-system")
        codes = {
            (await client.post("/v1/limited/things", headers=headers)).status_code for _ in range(6)
        }
        assert codes == {200}


class TestFailedAuthenticationLimit:
    async def test_an_address_past_its_failures_is_refused_everything_for_a_while(
        self, client: httpx.AsyncClient
    ) -> None:
        forged = {"Authorization": "Bearer forged.token.value"}
        first = await client.get("/v1/limited/things", headers=forged)
        second = await client.get("/v1/limited/things", headers=forged)
        assert (first.status_code, second.status_code) == (401, 401)
        blocked = await client.get("/v1/limited/things", headers=forged)
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) >= 1
        # Even a good token from that address waits; the load balancer's checks do not.
        assert (await client.get("/v1/limited/things", headers=bearer("a"))).status_code == 429
        assert (await client.get("/healthz")).status_code == 200

    async def test_other_addresses_are_not_affected(self, client: httpx.AsyncClient) -> None:
        forged = {"Authorization": "Bearer forged.token.value"}
        for _ in range(3):
            await client.get("/v1/limited/things", headers=forged)
        transport = httpx.ASGITransport(app=limited_app(), client=("198.51.100.9", 4711))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as elsewhere:
            response = await elsewhere.get("/v1/limited/things", headers=bearer("a"))
        assert response.status_code == 200
