"""Token lifetimes and dates, header limits, authentication before input, answer headers,
and what production refuses (demo seed, placeholder secrets, public docs)."""

from __future__ import annotations

import asyncio
import pathlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from jose import jwt
from pydantic import BaseModel, ValidationError

from notifications.settings import NotificationsSettings
from services import auth, cli
from services.app import create_service_app
from services.auth import Role, mint_token, require_roles, verify_token
from services.errors import NotAuthenticated
from services.settings import DEV_JWT_SECRET, FrontdoorSettings, get_settings, is_placeholder

ISSUER, AUDIENCE = "https://idp.council.example", "frontdoor"
REAL_SECRET = "Qm9vdHN0cmFwcGVkLXJhbmRvbS1zZWNyZXQtZm9yLXRlc3Rz"
REAL_KEY = "p3H8vQ2xL9sK4mN7bR1tY6wZ0cF5gJ8a="


def settings(**extra: Any) -> FrontdoorSettings:
    return FrontdoorSettings(jwt_issuer=ISSUER, jwt_audience=AUDIENCE, **extra)


def token(**overrides: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": "user-1",
        "role": "front_door_worker",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    return str(jwt.encode(claims, DEV_JWT_SECRET, algorithm="HS256"))


@pytest.fixture(autouse=True)
def no_cached_tokens() -> None:
    auth.clear_verified_tokens()


class TestTokenDates:
    async def test_a_token_within_the_maximum_lifetime_is_accepted(self) -> None:
        now = int(time.time())
        principal = await verify_token(token(iat=now, exp=now + 12 * 3600), settings())
        assert principal.sub == "user-1"

    async def test_a_ten_year_token_is_refused(self) -> None:
        now = int(time.time())
        with pytest.raises(NotAuthenticated, match="longer"):
            await verify_token(token(iat=now, exp=now + 10 * 365 * 86400), settings())

    async def test_the_maximum_lifetime_is_configurable(self) -> None:
        now = int(time.time())
        two_hours = token(iat=now, exp=now + 7200)
        with pytest.raises(NotAuthenticated):
            await verify_token(two_hours, settings(jwt_max_lifetime_seconds=3600))
        assert await verify_token(two_hours, settings(jwt_max_lifetime_seconds=7200))

    async def test_an_iat_in_the_future_beyond_the_leeway_is_refused(self) -> None:
        now = int(time.time())
        with pytest.raises(NotAuthenticated, match="future"):
            await verify_token(token(iat=now + 3600, exp=now + 7200), settings())

    async def test_an_iat_a_little_ahead_is_within_the_leeway(self) -> None:
        now = int(time.time())
        assert await verify_token(token(iat=now + 10, exp=now + 600), settings())

    @pytest.mark.parametrize(
        "dates",
        [
            {"exp": str(int(time.time()) + 600)},
            {"iat": str(int(time.time()))},
            {"nbf": str(int(time.time()))},
            {"exp": True},
            {"iat": [1]},
            {"exp": {"a": 1}},
            {"exp": 1e400},
        ],
    )
    async def test_dates_must_be_numbers(self, dates: dict[str, Any]) -> None:
        with pytest.raises(NotAuthenticated):
            await verify_token(token(**dates), settings())

    def test_minted_development_tokens_live_the_maximum_lifetime(self) -> None:
        minted = mint_token(settings(), sub="x", role=Role.admin)
        claims = jwt.get_unverified_claims(minted)
        assert claims["exp"] - claims["iat"] == 12 * 3600


class Thing(BaseModel):
    name: str


def guarded_app() -> FastAPI:
    router = APIRouter(prefix="/v1/guarded")

    @router.post("/things")
    async def create_guarded_thing(
        body: Thing, _: Any = Depends(require_roles(Role.admin))
    ) -> dict[str, str]:
        """Accept a thing from an admin."""
        return {"name": body.name}

    @router.get("/things")
    async def list_guarded_things(_: Any = Depends(require_roles(Role.admin))) -> list[str]:
        """Things."""
        return []

    return create_service_app(
        service="guarded", title="guarded", description="Probe.", routers=[router]
    )


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=guarded_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


def admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(get_settings(), sub='a', role=Role.admin)}"}


JSON = {"content-type": "application/json"}


class TestAuthenticationBeforeInput:
    @pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe\x00", b'{"name": 1}'])
    async def test_an_anonymous_malformed_body_is_401(
        self, client: httpx.AsyncClient, body: bytes
    ) -> None:
        response = await client.post("/v1/guarded/things", content=body, headers=JSON)
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"] == "Bearer"

    async def test_a_forged_token_with_a_malformed_body_is_401(
        self, client: httpx.AsyncClient
    ) -> None:
        headers = {**JSON, "Authorization": "Bearer not.a.token"}
        response = await client.post("/v1/guarded/things", content=b"{nope", headers=headers)
        assert response.status_code == 401

    async def test_an_authenticated_malformed_body_is_still_422(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post(
            "/v1/guarded/things", content=b"{nope", headers={**JSON, **admin()}
        )
        assert response.status_code == 422
        assert response.json()["error"] == "InvalidJson"


class TestHeaderLimits:
    async def test_an_authorization_header_over_8_kib_is_431(
        self, client: httpx.AsyncClient
    ) -> None:
        headers = {"Authorization": "Bearer " + "a" * (8 * 1024)}
        response = await client.get("/v1/guarded/things", headers=headers)
        assert response.status_code == 431
        assert response.json()["error"] == "HeadersTooLarge"

    async def test_headers_over_16_kib_in_all_are_431(self, client: httpx.AsyncClient) -> None:
        headers = {f"x-filler-{i}": "b" * 1000 for i in range(20)}
        response = await client.get("/v1/guarded/things", headers={**headers, **admin()})
        assert response.status_code == 431

    async def test_ordinary_headers_pass(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/guarded/things", headers=admin())
        assert response.status_code == 200


class TestAnswerHeaders:
    @pytest.mark.parametrize(
        ("method", "path"),
        [("GET", "/v1/guarded/things"), ("GET", "/healthz"), ("GET", "/nowhere")],
    )
    async def test_every_answer_is_nosniff_and_not_stored(
        self, client: httpx.AsyncClient, method: str, path: str
    ) -> None:
        response = await client.request(method, path, headers=admin())
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
        assert "server" not in response.headers

    async def test_errors_from_the_middleware_carry_them_too(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post(
            "/v1/guarded/things", content=b"x", headers={"content-type": "text/plain"}
        )
        assert response.status_code == 415
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"

    def test_uvicorn_is_started_without_its_server_banner(self) -> None:
        source = pathlib.Path(cli.__file__).read_text()
        assert source.count("server_header=False") == 2


class TestApiDocs:
    async def test_docs_are_served_outside_production_by_default(
        self, client: httpx.AsyncClient
    ) -> None:
        assert (await client.get("/openapi.json")).status_code == 200
        assert (await client.get("/docs")).status_code == 200

    async def test_docs_are_off_when_not_configured(
        self, database_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("API_DOCS", "false")
        get_settings.cache_clear()
        try:
            transport = httpx.ASGITransport(app=guarded_app())
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
                for path in ("/docs", "/redoc", "/openapi.json"):
                    assert (await c.get(path)).status_code == 404, path
        finally:
            monkeypatch.delenv("API_DOCS")
            get_settings.cache_clear()

    def test_production_serves_no_docs_unless_asked(self) -> None:
        production: dict[str, Any] = {
            "environment": "production",
            "database_url": "postgresql://db/x",
            "jwt_secret": REAL_SECRET,
        }
        assert not FrontdoorSettings(**production).serve_api_docs
        assert FrontdoorSettings(**production, api_docs=True).serve_api_docs


class TestProductionRefusals:
    def test_seed_demo_is_refused_in_production(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("ENVIRONMENT", "production")
        monkeypatch.setenv("DATABASE_URL", "postgresql://db.invalid/x")
        monkeypatch.setenv("JWT_SECRET", REAL_SECRET)
        get_settings.cache_clear()
        try:
            with pytest.raises(SystemExit, match="production"):
                asyncio.run(cli.seed_demo())
        finally:
            get_settings.cache_clear()

    @pytest.mark.parametrize(
        "value",
        ["changeme", "CHANGE_ME", "change-me-please", "secret", "xxx", "", "password",
         "Secret!", "replace-me-with-a-real-key-0123456789", "dev-key-not-for-production"],
    )  # fmt: skip
    def test_placeholders_are_recognised(self, value: str) -> None:
        assert is_placeholder(value)

    @pytest.mark.parametrize("value", [REAL_SECRET, REAL_KEY, "7hT!kq2Z#pW9@vLm"])
    def test_random_values_are_not_placeholders(self, value: str) -> None:
        assert not is_placeholder(value)

    @pytest.mark.parametrize(
        ("setting", "value"),
        [
            ("jwt_secret", "changeme" * 5),
            ("jwt_secret", "please-replace-me-before-going-live!"),
            ("metrics_token", "changeme"),
            ("metrics_token", "short-token"),
            ("database_url", "postgresql://app:changeme@db/x"),
            ("database_url", "postgresql://app:password@db/x"),
        ],
    )
    def test_every_platform_secret_refuses_a_placeholder_in_production(
        self, setting: str, value: str
    ) -> None:
        values: dict[str, Any] = {
            "environment": "production",
            "database_url": "postgresql://app:Zq8pL2vX7mK4@db/x",
            "jwt_secret": REAL_SECRET,
            setting: value,
        }
        with pytest.raises(ValidationError):
            FrontdoorSettings(**values)

    @pytest.mark.parametrize(
        ("setting", "value"),
        [
            ("secret_key", "changeme"),
            ("secret_key", "CHANGEME"),
            ("secret_key", "too-short-but-random-7Qk"),
            ("smtp_password", "changeme"),
            ("smtp_password", "password"),
        ],
    )
    def test_every_notifications_secret_refuses_a_placeholder_in_production(
        self, setting: str, value: str
    ) -> None:
        values: dict[str, Any] = {
            "environment": "production",
            "database_url": "postgresql://app:Zq8pL2vX7mK4@db/x",
            "jwt_secret": REAL_SECRET,
            "secret_key": REAL_KEY,
            setting: value,
        }
        with pytest.raises(ValidationError):
            NotificationsSettings(**values)

    def test_real_secrets_are_accepted_in_production(self) -> None:
        accepted = NotificationsSettings(
            environment="production",
            database_url="postgresql://app:Zq8pL2vX7mK4@db/x",
            jwt_secret=REAL_SECRET,
            secret_key=REAL_KEY,
            smtp_password="Vb7#q2LmZ9x",
            metrics_token="m3tr1cs-Tok3n-9f8e7d",
        )
        assert accepted.is_production

    def test_placeholders_are_fine_outside_production(self) -> None:
        assert NotificationsSettings(secret_key="changeme").secret_key == "changeme"
