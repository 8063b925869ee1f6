"""JWT verification: HS256 dev tokens, RS256 from a JWKS URL, the allow-list, claims, roles."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import APIRouter, Depends, FastAPI
from jose import jwk, jwt

from services import auth
from services.app import create_service_app
from services.auth import CurrentUser, Principal, Role, mint_token, require_roles, verify_token
from services.errors import NotAuthenticated, ServiceUnavailable
from services.settings import DEV_JWT_SECRET, FrontdoorSettings
from tests.services.conftest import JwksServer

ISSUER, AUDIENCE = "https://idp.council.example", "frontdoor"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(header: dict[str, Any], claims: dict[str, Any], key: bytes | None) -> str:
    """A token built by hand, as an attacker would (jose refuses to make these)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = (
        b"" if key is None else hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    )
    return f"{signing_input}.{b64(signature)}"


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "sub": "user-1",
        "role": "front_door_worker",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 600,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


class RsaKey:
    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_pem = self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.private_pem = self.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    @property
    def jwk(self) -> dict[str, Any]:
        return {**jwk.construct(self.public_pem, "RS256").to_dict(), "kid": self.kid, "use": "sig"}

    def sign(self, body: dict[str, Any], kid: str | None = None) -> str:
        return str(
            jwt.encode(body, self.private_pem, algorithm="RS256", headers={"kid": kid or self.kid})
        )


@pytest.fixture(scope="module")
def rsa_key() -> RsaKey:
    return RsaKey("key-1")


@pytest.fixture(autouse=True)
def fresh_jwks_cache() -> Iterator[None]:
    auth._jwks.clear()
    auth.clear_verified_tokens()
    yield
    auth._jwks.clear()
    auth.clear_verified_tokens()


@pytest.fixture
def idp(jwks_server: JwksServer, rsa_key: RsaKey) -> JwksServer:
    jwks_server.keys = [rsa_key.jwk]
    return jwks_server


def rs_settings(server: JwksServer, **extra: Any) -> FrontdoorSettings:
    return FrontdoorSettings(
        jwt_jwks_url=server.url, jwt_issuer=ISSUER, jwt_audience=AUDIENCE, **extra
    )


def hs_settings() -> FrontdoorSettings:
    return FrontdoorSettings(jwt_issuer=ISSUER, jwt_audience=AUDIENCE)


def hs_token(body: dict[str, Any], algorithm: str = "HS256") -> str:
    return str(jwt.encode(body, DEV_JWT_SECRET, algorithm=algorithm))


class TestDevelopmentTokens:
    async def test_a_minted_token_verifies_to_its_principal(self) -> None:
        settings = FrontdoorSettings()
        token = mint_token(settings, sub="sw-1", role=Role.referrer, agency_id="police-wy")
        principal = await verify_token(token, settings)
        assert principal == Principal(
            sub="sw-1", role=Role.referrer, agency_id="police-wy", council_id="demo"
        )

    async def test_expired_tokens_are_refused(self) -> None:
        token = hs_token(claims(exp=int(time.time()) - 10))
        with pytest.raises(NotAuthenticated):
            await verify_token(token, hs_settings())

    @pytest.mark.parametrize("missing", ["exp", "iat", "iss", "aud", "sub"])
    async def test_tokens_missing_a_registered_claim_are_refused(self, missing: str) -> None:
        token = hs_token(claims(**{missing: None}))
        with pytest.raises(NotAuthenticated):
            await verify_token(token, hs_settings())

    @pytest.mark.parametrize(("name", "value"), [("iss", "someone-else"), ("aud", "other-api")])
    async def test_wrong_issuer_or_audience_is_refused(self, name: str, value: str) -> None:
        with pytest.raises(NotAuthenticated):
            await verify_token(hs_token(claims(**{name: value})), hs_settings())

    async def test_a_token_signed_with_another_secret_is_refused(self) -> None:
        token = str(jwt.encode(claims(), "another-secret-of-sufficient-length!", "HS256"))
        with pytest.raises(NotAuthenticated):
            await verify_token(token, hs_settings())

    async def test_minting_is_refused_in_production(self) -> None:
        production = FrontdoorSettings(
            environment="production", database_url="postgresql://db/x", jwt_secret="s" * 40
        )
        with pytest.raises(RuntimeError, match="production"):
            mint_token(production, sub="x", role=Role.admin)


class TestAlgorithmAllowList:
    async def test_alg_none_is_refused(self) -> None:
        token = forged({"alg": "none", "typ": "JWT"}, claims(role="admin"), key=None)
        with pytest.raises(NotAuthenticated):
            await verify_token(token, hs_settings())

    @pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
    async def test_unlisted_algorithms_are_refused_even_with_the_right_secret(
        self, algorithm: str
    ) -> None:
        with pytest.raises(NotAuthenticated):
            await verify_token(hs_token(claims(), algorithm), hs_settings())

    async def test_hs256_signed_with_the_public_key_is_refused_under_rs256(
        self, idp: JwksServer, rsa_key: RsaKey
    ) -> None:
        # The classic confusion: use the published public key as an HMAC secret.
        header = {"alg": "HS256", "typ": "JWT", "kid": rsa_key.kid}
        for secret in (rsa_key.public_pem, json.dumps(rsa_key.jwk).encode()):
            token = forged(header, claims(role="admin"), key=secret)
            with pytest.raises(NotAuthenticated):
                await verify_token(token, rs_settings(idp))

    async def test_rs256_is_refused_when_only_hs256_is_configured(self, rsa_key: RsaKey) -> None:
        with pytest.raises(NotAuthenticated):
            await verify_token(rsa_key.sign(claims()), hs_settings())

    async def test_an_algorithm_outside_the_configured_list_is_refused(
        self, jwks_server: JwksServer
    ) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        jwks_server.keys = [{**jwk.construct(public, "ES256").to_dict(), "kid": "ec-1"}]
        token = str(jwt.encode(claims(), pem, algorithm="ES256", headers={"kid": "ec-1"}))
        with pytest.raises(NotAuthenticated):  # the deployment allows RS256 only
            await verify_token(token, rs_settings(jwks_server))
        allowed = rs_settings(jwks_server, jwt_algorithms=("RS256", "ES256"))
        assert (await verify_token(token, allowed)).sub == "user-1"


class TestVerifiedTokenCache:
    async def test_a_verified_token_is_answered_from_the_cache(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        token = hs_token(claims())
        first = await verify_token(token, hs_settings())

        async def must_not_verify(*_: Any) -> Any:
            raise AssertionError("verified again")

        monkeypatch.setattr(auth, "_verify_uncached", must_not_verify)
        assert await verify_token(token, hs_settings()) == first

    async def test_an_entry_is_never_used_past_the_tokens_exp(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        body = claims(exp=int(time.time()) + 60)
        token = hs_token(body)
        await verify_token(token, hs_settings())

        async def refuse(*_: Any) -> Any:
            raise NotAuthenticated("expired")

        monkeypatch.setattr(auth, "_verify_uncached", refuse)
        monkeypatch.setattr(time, "time", lambda: float(body["exp"]))
        with pytest.raises(NotAuthenticated):
            await verify_token(token, hs_settings())

    async def test_other_settings_verify_the_token_afresh(self) -> None:
        token = hs_token(claims())
        await verify_token(token, hs_settings())
        other = FrontdoorSettings(jwt_issuer="https://elsewhere.example", jwt_audience=AUDIENCE)
        with pytest.raises(NotAuthenticated):
            await verify_token(token, other)

    async def test_failures_are_not_cached_and_the_cache_is_bounded(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        with pytest.raises(NotAuthenticated):
            await verify_token(hs_token(claims(role="nobody")), hs_settings())
        assert not auth._verified
        monkeypatch.setattr(auth, "VERIFIED_TOKEN_CACHE_SIZE", 2)
        for sub in ("a", "b", "c"):
            await verify_token(hs_token(claims(sub=sub)), hs_settings())
        assert len(auth._verified) == 2


class TestJwks:
    async def test_rs256_tokens_verify_with_the_providers_published_key(
        self, idp: JwksServer, rsa_key: RsaKey
    ) -> None:
        token = rsa_key.sign(claims(role="team_manager"))
        principal = await verify_token(token, rs_settings(idp))
        assert (principal.sub, principal.role) == ("user-1", Role.team_manager)

    async def test_keys_are_fetched_once_and_cached(self, idp: JwksServer, rsa_key: RsaKey) -> None:
        settings = rs_settings(idp)
        for _ in range(5):
            await verify_token(rsa_key.sign(claims()), settings)
        assert idp.fetches == 1

    async def test_keys_are_refetched_after_the_cache_expires(
        self, idp: JwksServer, rsa_key: RsaKey
    ) -> None:
        settings = rs_settings(idp, jwks_cache_seconds=0)
        await verify_token(rsa_key.sign(claims()), settings)
        await verify_token(rsa_key.sign(claims()), settings)
        assert idp.fetches == 2

    async def test_a_rotated_key_is_picked_up_on_an_unknown_kid(
        self, idp: JwksServer, rsa_key: RsaKey, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        settings = rs_settings(idp)
        await verify_token(rsa_key.sign(claims()), settings)
        rotated = RsaKey("key-2")
        idp.keys = [rsa_key.jwk, rotated.jwk]
        monkeypatch.setattr(auth, "JWKS_MIN_REFETCH_SECONDS", 0.0)
        assert (await verify_token(rotated.sign(claims()), settings)).sub == "user-1"
        assert idp.fetches == 2

    async def test_unknown_kids_do_not_hammer_the_provider(
        self, idp: JwksServer, rsa_key: RsaKey
    ) -> None:
        settings = rs_settings(idp)
        await verify_token(rsa_key.sign(claims()), settings)
        for _ in range(3):
            with pytest.raises(NotAuthenticated, match="signing key"):
                await verify_token(rsa_key.sign(claims(), kid="made-up"), settings)
        assert idp.fetches == 1

    async def test_a_token_signed_by_an_unpublished_key_is_refused(self, idp: JwksServer) -> None:
        impostor = RsaKey("key-1")  # same kid, different key
        with pytest.raises(NotAuthenticated):
            await verify_token(impostor.sign(claims()), rs_settings(idp))

    async def test_an_unreachable_provider_is_a_503_not_a_500(self, idp: JwksServer) -> None:
        idp.failing = True
        with pytest.raises(ServiceUnavailable):
            await verify_token(RsaKey("key-1").sign(claims()), rs_settings(idp))

    async def test_cached_keys_keep_working_while_the_provider_is_down(
        self, idp: JwksServer, rsa_key: RsaKey
    ) -> None:
        settings = rs_settings(idp, jwks_cache_seconds=0)
        await verify_token(rsa_key.sign(claims()), settings)
        idp.failing = True
        assert (await verify_token(rsa_key.sign(claims()), settings)).sub == "user-1"


class TestClaims:
    @pytest.mark.parametrize(
        "bad",
        [
            {"role": None},
            {"role": "superuser"},
            {"role": ["admin"]},
            {"role": "referrer"},  # without agency_id
            {"role": "police_feed"},
            {"role": "dv_screener"},
            {"role": "referrer", "agency_id": ""},
            {"role": "referrer", "agency_id": 42},
            {"role": "school_dsl"},  # without school_urn
            {"role": "school_dsl", "school_urn": "not-a-urn"},
            {"sub": ""},
        ],
    )
    async def test_missing_or_invalid_claims_are_refused(self, bad: dict[str, Any]) -> None:
        with pytest.raises(NotAuthenticated):
            await verify_token(hs_token(claims(**bad)), hs_settings())

    @pytest.mark.parametrize(
        ("extra", "org"),
        [
            ({"role": "referrer", "agency_id": "nhs-bradford"}, "nhs-bradford"),
            ({"role": "school_dsl", "school_urn": "107301"}, "107301"),
            ({"role": "admin"}, None),
        ],
    )
    async def test_valid_claims_give_the_principal_its_organisation(
        self, extra: dict[str, Any], org: str | None
    ) -> None:
        principal = await verify_token(hs_token(claims(**extra)), hs_settings())
        assert principal.org == org


# --- over HTTP -----------------------------------------------------------------------------


def secured_app() -> FastAPI:
    router = APIRouter(prefix="/v1/auth-probe")

    @router.get("/me")
    async def whoami(user: CurrentUser) -> dict[str, str | None]:
        return {"sub": user.sub, "role": user.role.value, "org": user.org}

    @router.get("/managers", dependencies=[Depends(require_roles(Role.team_manager, Role.admin))])
    async def managers_only() -> dict[str, bool]:
        return {"ok": True}

    return create_service_app(
        service="probe", title="probe", description="Auth probe.", routers=[router]
    )


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=secured_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


class TestOverHttp:
    async def test_no_token_is_401_with_the_error_body(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/auth-probe/me")
        assert response.status_code == 401
        assert response.json()["error"] == "NotAuthenticated"
        assert response.headers["www-authenticate"] == "Bearer"

    async def test_a_garbage_token_is_401(self, client: httpx.AsyncClient) -> None:
        response = await client.get(
            "/v1/auth-probe/me", headers={"Authorization": "Bearer not.a.jwt"}
        )
        assert response.status_code == 401

    async def test_a_token_without_an_agency_is_401(self, client: httpx.AsyncClient) -> None:
        settings = FrontdoorSettings()
        token = mint_token(settings, sub="r", role=Role.referrer)  # no agency_id
        response = await client.get(
            "/v1/auth-probe/me", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401

    async def test_a_valid_token_reaches_the_endpoint(
        self, client: httpx.AsyncClient, auth: Any
    ) -> None:
        response = await client.get(
            "/v1/auth-probe/me", headers=auth("school_dsl", school_urn="107301")
        )
        assert response.json() == {"sub": "test-school_dsl", "role": "school_dsl", "org": "107301"}

    async def test_require_roles_refuses_other_roles_with_403(
        self, client: httpx.AsyncClient, auth: Any
    ) -> None:
        refused = await client.get("/v1/auth-probe/managers", headers=auth("front_door_worker"))
        allowed = await client.get("/v1/auth-probe/managers", headers=auth("team_manager"))
        assert refused.status_code == 403
        assert refused.json()["error"] == "Forbidden"
        assert allowed.status_code == 200
