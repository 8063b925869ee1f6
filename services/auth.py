"""JWT bearer authentication and role checks.

python-jose with an explicit algorithm allow-list: HS256 with a local key in development,
RS256/ES256 from the identity provider's JWKS (cached) in production. The claims name the
caller (`sub`), their `role`, and the agency or school they act for.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from enum import StrEnum
from typing import Annotated, Any

import httpx
import structlog
from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jose import JWTError, jwt
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import State

from services.errors import Forbidden, NotAuthenticated, ServiceUnavailable
from services.ratelimit import WRITE_METHODS, check_write
from services.settings import SUPPORTED_ALGORITHMS, FrontdoorSettings, get_settings

# A token must carry these; jose alone accepts a token without `exp` for ever.
_REQUIRED_CLAIMS = {
    "require_exp": True,
    "require_iat": True,
    "require_sub": True,
    "require_iss": True,
    "require_aud": True,
}
# An unknown `kid` triggers a refetch (key rotation), at most this often: a stream of tokens
# with made-up kids must not hammer the identity provider.
JWKS_MIN_REFETCH_SECONDS = 30.0


class Role(StrEnum):
    referrer = "referrer"
    front_door_worker = "front_door_worker"
    team_manager = "team_manager"
    dv_screener = "dv_screener"
    police_feed = "police_feed"
    school_dsl = "school_dsl"
    admin = "admin"
    # A co-located MASH partner (police, health, education, probation, housing...): answers
    # the checks addressed to its agency (`agency_id`).
    mash_partner = "mash_partner"
    # The council's case-management system (LCS, Mosaic): reads a handed-over record.
    case_system = "case_system"
    # Reads the council's audit trail (GET /v1/audit) and nothing else: no child's record.
    auditor = "auditor"


log = structlog.get_logger(__name__)

ROLES_NEEDING_AGENCY = frozenset(
    {Role.referrer, Role.police_feed, Role.dv_screener, Role.mash_partner}
)
ROLES_NEEDING_SCHOOL = frozenset({Role.school_dsl})


class Principal(BaseModel):
    """Who is calling: from the verified token, never from the request body."""

    model_config = ConfigDict(frozen=True)

    sub: str = Field(min_length=1, max_length=200)
    role: Role
    agency_id: str | None = Field(None, min_length=1, max_length=64)
    school_urn: str | None = Field(None, pattern=r"^[0-9]{6,7}$")
    council_id: str = Field("demo", min_length=1, max_length=64)

    @property
    def org(self) -> str | None:
        return self.agency_id or self.school_urn


class _JwksCache:
    """The identity provider's signing keys by `kid`, per JWKS URL, kept for a while."""

    def __init__(self) -> None:
        self.url: str | None = None
        self.keys: dict[str, dict[str, Any]] = {}
        self.fetched_at = -1e9

    def clear(self) -> None:
        self.url, self.keys, self.fetched_at = None, {}, -1e9

    async def key(self, kid: str, settings: FrontdoorSettings) -> dict[str, Any]:
        url = settings.jwt_jwks_url
        assert url is not None
        age = time.monotonic() - self.fetched_at
        stale = self.url != url or age >= settings.jwks_cache_seconds
        if stale or (kid not in self.keys and age >= JWKS_MIN_REFETCH_SECONDS):
            await self._fetch(url)
        if kid not in self.keys:
            raise NotAuthenticated("The token's signing key is not known.")
        return self.keys[kid]

    async def _fetch(self, url: str) -> None:
        try:
            async with httpx.AsyncClient(timeout=5.0, follow_redirects=False) as client:
                response = await client.get(url)
                response.raise_for_status()
            keys = response.json()["keys"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            log.error("jwks_fetch_failed", error=type(exc).__name__)
            if self.url == url and self.keys:
                return  # keep verifying with the last good keys while the provider is down
            raise ServiceUnavailable("The identity provider's keys cannot be fetched.") from exc
        self.url, self.fetched_at = url, time.monotonic()
        self.keys = {
            str(k.get("kid", "")): k
            for k in keys
            if isinstance(k, dict) and k.get("use", "sig") == "sig"
        }


_jwks = _JwksCache()


def allowed_algorithms(settings: FrontdoorSettings) -> list[str]:
    return [a for a in settings.verification_algorithms if a in SUPPORTED_ALGORITHMS]


async def _verification_key(token: str, settings: FrontdoorSettings) -> Any:
    header = jwt.get_unverified_header(token)
    if header.get("alg") not in allowed_algorithms(settings):
        raise NotAuthenticated("The token's algorithm is not accepted.")
    if not settings.jwt_jwks_url:
        return settings.jwt_secret
    key = await _jwks.key(str(header.get("kid", "")), settings)
    if key.get("alg") not in (None, header["alg"]):
        raise NotAuthenticated("The token's algorithm does not match its key.")
    return key


def principal_from_claims(claims: dict[str, Any], default_council: str = "demo") -> Principal:
    try:
        principal = Principal(
            sub=claims["sub"],
            role=Role(claims["role"]),
            agency_id=claims.get("agency_id"),
            school_urn=claims.get("school_urn"),
            council_id=claims.get("council_id", default_council),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise NotAuthenticated("The token lacks a valid sub or role claim.") from exc
    if principal.role in ROLES_NEEDING_AGENCY and not principal.agency_id:
        raise NotAuthenticated("This role's token must carry agency_id.")
    if principal.role in ROLES_NEEDING_SCHOOL and not principal.school_urn:
        raise NotAuthenticated("This role's token must carry school_urn.")
    return principal


# Verified tokens, keyed by the exact token string and the settings that verified it: a
# client sends the same token on every request for hours, and checking its signature and
# claims again each time was a large part of every request's CPU. An entry lives until the
# token's `exp` at the latest, and never longer than VERIFIED_TOKEN_TTL_SECONDS or the JWKS
# cache's lifetime (a key withdrawn by the provider stops being honoured as soon as it would
# without this cache); failures are never cached.
VERIFIED_TOKEN_CACHE_SIZE = 4096
VERIFIED_TOKEN_TTL_SECONDS = 300.0
_VerifiedKey = tuple[str, str, str | None, str, str, tuple[str, ...], str, int, int]
_verified: OrderedDict[_VerifiedKey, tuple[Principal, float]] = OrderedDict()


def clear_verified_tokens() -> None:
    _verified.clear()


async def verify_token(token: str, settings: FrontdoorSettings) -> Principal:
    cache_key: _VerifiedKey = (
        token,
        settings.jwt_secret,
        settings.jwt_jwks_url,
        settings.jwt_audience,
        settings.jwt_issuer,
        settings.verification_algorithms,
        settings.council_id,
        settings.jwt_max_lifetime_seconds,
        settings.jwt_leeway_seconds,
    )
    hit = _verified.get(cache_key)
    now = time.time()
    if hit is not None:
        if now < hit[1]:
            return hit[0]
        del _verified[cache_key]
    principal, exp = await _verify_uncached(token, settings)
    until = min(exp, now + min(VERIFIED_TOKEN_TTL_SECONDS, settings.jwks_cache_seconds))
    if now < until:
        _verified[cache_key] = (principal, until)
        while len(_verified) > VERIFIED_TOKEN_CACHE_SIZE:
            _verified.popitem(last=False)
    return principal


async def _verify_uncached(token: str, settings: FrontdoorSettings) -> tuple[Principal, float]:
    try:
        key = await _verification_key(token, settings)
        claims = jwt.decode(
            token,
            key,
            algorithms=allowed_algorithms(settings),
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options=_REQUIRED_CLAIMS,
        )
    except (JWTError, TypeError, ValueError, OverflowError) as exc:
        # jose converts the dates with int(): a list, a dict or 1e400 raises, never a 500.
        raise NotAuthenticated("The bearer token is not valid.") from exc
    exp = check_token_times(claims, settings, now=time.time())
    return principal_from_claims(claims, settings.council_id), exp


def _numeric(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_token_times(claims: dict[str, Any], settings: FrontdoorSettings, *, now: float) -> float:
    """The token's `exp`, once its dates are numbers (RFC 7519 NumericDate; jose alone accepts
    "9999999999" as a string), `iat` is not ahead of our clock beyond the leeway, and it was
    issued for no longer than the maximum lifetime."""
    for name in ("exp", "iat", "nbf"):
        if name in claims and not _numeric(claims[name]):
            raise NotAuthenticated(f"The token's {name} must be a number.")
    exp, iat = float(claims["exp"]), float(claims["iat"])
    if iat > now + settings.jwt_leeway_seconds:
        raise NotAuthenticated("The token was issued in the future.")
    if exp - iat > settings.jwt_max_lifetime_seconds:
        raise NotAuthenticated("The token lives longer than this service accepts.")
    return exp


def mint_token(
    settings: FrontdoorSettings,
    *,
    sub: str,
    role: Role,
    agency_id: str | None = None,
    school_urn: str | None = None,
    ttl_seconds: int | None = None,
    council_id: str | None = None,
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
        "exp": now + (settings.jwt_max_lifetime_seconds if ttl_seconds is None else ttl_seconds),
        "council_id": council_id or settings.council_id,
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


BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


CurrentUser = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency that admits only these roles."""
    allowed = frozenset(roles)

    # `current_principal` inlined: one dependency fewer for FastAPI to solve on every request.
    async def _check(request: Request, credentials: BearerCredentials) -> Principal:
        token = credentials.credentials if credentials is not None else None
        principal = await admit(token, allowed, state=request.state)
        if request.method in WRITE_METHODS:
            check_write(get_settings(), principal.council_id, principal.sub)
        return principal

    return _check


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer ...` header, read as `HTTPBearer` reads it."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if not (scheme and token) or scheme.lower() != "bearer":
        return None
    return token


def route_takes_token(route: object) -> bool:
    """Whether a route's dependencies include a bearer token (worked out once per route)."""
    cached = getattr(route, _TAKES_TOKEN, None)
    if cached is None:
        dependant = getattr(route, "dependant", None)
        cached = dependant is not None and _has_bearer(dependant)
        if route is not None:
            setattr(route, _TAKES_TOKEN, cached)
    return bool(cached)


_TAKES_TOKEN = "_frontdoor_takes_token"


def _has_bearer(dependant: Dependant) -> bool:
    return isinstance(dependant.call, HTTPBearer) or any(
        _has_bearer(sub) for sub in dependant.dependencies
    )


async def authenticate_before_input(request: Request) -> None:
    """For a route that takes a token but refused the request's input before its dependencies
    ran (a body that is not JSON is refused before any dependency): the caller is
    authenticated first, so an anonymous or forged caller learns 401, never how we parse."""
    if getattr(request.state, "principal", None) is not None:
        return
    if not route_takes_token(request.scope.get("route")):
        return
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise NotAuthenticated()
    request.state.principal = await verify_token(token, get_settings())


async def admit(
    token: str | None, allowed: frozenset[Role], *, state: State | None = None
) -> Principal:
    """The verified principal of a bearer token whose role is one of `allowed`.

    The principal is put on `state` (the request's) before its role is checked, so a refusal
    is audited with who was refused (services.audit.record_refusal).
    """
    if token is None:
        raise NotAuthenticated()
    principal = await verify_token(token, get_settings())
    if state is not None:
        state.principal = principal
    if principal.role not in allowed:
        raise Forbidden(f"This needs one of: {', '.join(sorted(allowed))}.")
    return principal
