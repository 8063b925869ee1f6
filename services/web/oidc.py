"""Sign-in with the council's OpenID Connect identity provider: authorization code with PKCE.

Authlib's client builds the authorization URL (S256 code challenge) and exchanges the code;
joserfc verifies the ID token against the provider's published keys (issuer, audience,
expiry, nonce). The role and the agency or school come from the ID token's claims, the same
claims a bearer token carries (`role`, `agency_id`, `school_urn`), read by the same function.
The state, verifier and nonce of a sign-in under way are a row, deleted when it is used.
"""

from __future__ import annotations

import secrets
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import structlog
from authlib.deprecate import AuthlibDeprecationWarning
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth import Principal, principal_from_claims
from services.errors import NotAuthenticated, ServiceUnavailable
from services.models.web import WebSignIn
from services.web.settings import WebSettings

with warnings.catch_warnings():
    # Authlib 1.9 announces its move to httpx2 when its httpx integration is imported (its
    # `deprecate` module puts an "always" filter first, so this one goes in after it).
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

HERE = Path(__file__).resolve().parent
CALLBACK_PATH = "/sign-in/callback"
ID_TOKEN_ALGORITHMS = ["RS256", "ES256"]
log = structlog.get_logger(__name__)


async def _json(url: str) -> dict[str, Any]:
    try:
        async with httpx.AsyncClient(timeout=5.0, follow_redirects=False) as client:
            response = await client.get(url)
            response.raise_for_status()
            body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        log.error("oidc_provider_unreachable", error=type(exc).__name__)
        raise ServiceUnavailable("The identity provider cannot be reached.") from exc
    if not isinstance(body, dict):
        raise ServiceUnavailable("The identity provider's metadata is not valid.")
    return body


async def metadata(settings: WebSettings) -> dict[str, Any]:
    assert settings.discovery_url is not None
    return await _json(settings.discovery_url)


def _client(settings: WebSettings) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret,
        scope=settings.oidc_scopes,
        redirect_uri=settings.link(CALLBACK_PATH),
        code_challenge_method="S256",
        token_endpoint_auth_method=(
            "client_secret_basic" if settings.oidc_client_secret else "none"
        ),
        timeout=5.0,
    )


async def begin(session: AsyncSession, settings: WebSettings, *, next_path: str) -> str:
    """The provider's authorization URL for a new sign-in (its state row written)."""
    meta = await metadata(settings)
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)  # RFC 7636: 43-128 characters
    async with _client(settings) as client:
        url, _ = client.create_authorization_url(
            meta["authorization_endpoint"], state=state, code_verifier=verifier, nonce=nonce
        )
    session.add(WebSignIn(state=state, code_verifier=verifier, nonce=nonce, next_path=next_path))
    await session.flush()
    return str(url)


async def _take_sign_in(
    session: AsyncSession, state: str, settings: WebSettings
) -> WebSignIn | None:
    cutoff = datetime.now(UTC) - timedelta(seconds=settings.oidc_sign_in_seconds)
    row = (
        await session.execute(
            delete(WebSignIn)
            .where(WebSignIn.state == state, WebSignIn.created_at > cutoff)
            .returning(WebSignIn)
        )
    ).scalar_one_or_none()
    return row


async def finish(
    session: AsyncSession, settings: WebSettings, params: dict[str, str]
) -> tuple[Principal, str]:
    """Check the callback's state, exchange the code, verify the ID token: who signed in."""
    pending = await _take_sign_in(session, params.get("state", ""), settings)
    if pending is None or "code" not in params:
        raise NotAuthenticated("The sign-in has expired or was not started here; try again.")
    meta = await metadata(settings)
    try:
        async with _client(settings) as client:
            token = await client.fetch_token(
                meta["token_endpoint"], code=params["code"], code_verifier=pending.code_verifier
            )
    except Exception as exc:  # Authlib raises its own errors and httpx's
        log.warning("oidc_code_exchange_failed", error=type(exc).__name__)
        raise NotAuthenticated("The identity provider refused the sign-in.") from exc
    claims = await _verified_id_token(str(token.get("id_token", "")), meta, settings, pending.nonce)
    return principal_from_claims(claims, settings.council_id), pending.next_path


async def _verified_id_token(
    id_token: str, meta: dict[str, Any], settings: WebSettings, nonce: str
) -> dict[str, Any]:
    keys = KeySet.import_key_set(await _json(meta["jwks_uri"]))  # type: ignore[arg-type]
    try:
        decoded = jwt.decode(id_token, keys, algorithms=ID_TOKEN_ALGORITHMS)
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": settings.oidc_issuer or ""},
            aud={"essential": True, "value": settings.oidc_client_id or ""},
            exp={"essential": True},
            sub={"essential": True},
            nonce={"essential": True, "value": nonce},
        ).validate(decoded.claims)
    except (JoseError, ValueError) as exc:
        log.warning("oidc_id_token_refused", error=type(exc).__name__)
        raise NotAuthenticated("The identity provider's token is not valid.") from exc
    return dict(decoded.claims)
