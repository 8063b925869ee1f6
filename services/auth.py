"""JWT bearer authentication and role checks.

python-jose with an explicit algorithm allow-list: HS256 with a local key in development,
RS256/ES256 from the identity provider's JWKS (cached) in production. The claims name the
caller (`sub`), their `role`, and the agency or school they act for.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from enum import StrEnum
from typing import Annotated, Any

import httpx
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jose import JWTError, jwt
from pydantic import BaseModel

from services.errors import Forbidden, NotAuthenticated
from services.settings import FrontdoorSettings, get_settings

# Never anything else: "none" and algorithm confusion are refused by construction.
ALLOWED_ALGORITHMS = frozenset({"HS256", "RS256", "ES256"})


class Role(StrEnum):
    referrer = "referrer"
    front_door_worker = "front_door_worker"
    team_manager = "team_manager"
    dv_screener = "dv_screener"
    police_feed = "police_feed"
    school_dsl = "school_dsl"
    admin = "admin"


ROLES_NEEDING_AGENCY = frozenset({Role.referrer, Role.police_feed, Role.dv_screener})
ROLES_NEEDING_SCHOOL = frozenset({Role.school_dsl})


class Principal(BaseModel):
    """Who is calling: from the verified token, never from the request body."""

    sub: str
    role: Role
    agency_id: str | None = None
    school_urn: str | None = None
    council_id: str = "demo"

    @property
    def org(self) -> str | None:
        return self.agency_id or self.school_urn


class _JwksCache:
    def __init__(self) -> None:
        self.keys: dict[str, Any] = {}
        self.fetched_at = 0.0

    async def get(self, settings: FrontdoorSettings) -> dict[str, Any]:
        if self.keys and time.monotonic() - self.fetched_at < settings.jwks_cache_seconds:
            return self.keys
        assert settings.jwt_jwks_url is not None
        async with httpx.AsyncClient(timeout=5.0) as client:
            response = await client.get(settings.jwt_jwks_url)
            response.raise_for_status()
        self.keys = {k.get("kid", ""): k for k in response.json()["keys"]}
        self.fetched_at = time.monotonic()
        return self.keys


_jwks = _JwksCache()


def allowed_algorithms(settings: FrontdoorSettings) -> list[str]:
    return [a for a in settings.jwt_algorithms if a in ALLOWED_ALGORITHMS]


async def _verification_key(token: str, settings: FrontdoorSettings) -> Any:
    if not settings.jwt_jwks_url:
        return settings.jwt_secret
    kid = jwt.get_unverified_header(token).get("kid", "")
    keys = await _jwks.get(settings)
    if kid not in keys:
        raise NotAuthenticated("The token's signing key is not known.")
    return keys[kid]


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    try:
        principal = Principal(
            sub=str(claims["sub"]),
            role=Role(claims["role"]),
            agency_id=claims.get("agency_id"),
            school_urn=claims.get("school_urn"),
            council_id=claims.get("council_id", "demo"),
        )
    except (KeyError, ValueError) as exc:
        raise NotAuthenticated("The token lacks a valid sub or role claim.") from exc
    if principal.role in ROLES_NEEDING_AGENCY and not principal.agency_id:
        raise NotAuthenticated("This role's token must carry agency_id.")
    if principal.role in ROLES_NEEDING_SCHOOL and not principal.school_urn:
        raise NotAuthenticated("This role's token must carry school_urn.")
    return principal


async def verify_token(token: str, settings: FrontdoorSettings) -> Principal:
    try:
        key = await _verification_key(token, settings)
        claims = jwt.decode(
            token,
            key,
            algorithms=allowed_algorithms(settings),
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
        )
    except JWTError as exc:
        raise NotAuthenticated("The bearer token is not valid.") from exc
    return principal_from_claims(claims)


def mint_token(
    settings: FrontdoorSettings,
    *,
    sub: str,
    role: Role,
    agency_id: str | None = None,
    school_urn: str | None = None,
    ttl_seconds: int = 12 * 3600,
) -> str:
    """A development token signed with the local key (refused in production)."""
    if settings.is_production:
        raise RuntimeError("development tokens are not minted in production")
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": sub,
        "role": role.value,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + ttl_seconds,
        "council_id": settings.council_id,
    }
    if agency_id:
        claims["agency_id"] = agency_id
    if school_urn:
        claims["school_urn"] = school_urn
    return str(jwt.encode(claims, settings.jwt_secret, algorithm="HS256"))


_bearer = HTTPBearer(auto_error=False, description="A JWT from the council's identity provider")


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise NotAuthenticated()
    principal = await verify_token(credentials.credentials, get_settings())
    request.state.principal = principal
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency that admits only these roles."""
    allowed = frozenset(roles)

    async def _check(principal: CurrentUser) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(f"This needs one of: {', '.join(sorted(allowed))}.")
        return principal

    return _check
