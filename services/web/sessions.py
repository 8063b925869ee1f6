"""Signed-in sessions as PostgreSQL rows: created at sign-in, checked on every page, revocable.

The cookie holds 32 random bytes; the row is keyed by their SHA-256, so neither the table nor
a log line holds a usable token. A session ends at the first of: sign-out (revoked), the idle
timeout since it was last used, or its absolute lifetime.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth import Principal, principal_from_claims
from services.db import driver_connection, driver_statement
from services.errors import NotAuthenticated
from services.models.web import WebSession
from services.web.settings import WebSettings


@dataclass(frozen=True)
class SignedIn:
    principal: Principal
    csrf_token: str
    token_hash: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def claims_of(principal: Principal) -> dict[str, Any]:
    return principal.model_dump(exclude_none=True, mode="json")


async def start(
    session: AsyncSession,
    principal: Principal,
    *,
    method: str,
    settings: WebSettings,
    now: datetime | None = None,
) -> str:
    """A new session for `principal`; returns the cookie's token (shown to no one else)."""
    now = now or datetime.now(UTC)
    token = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            token_hash=token_hash(token),
            claims=claims_of(principal),
            csrf_token=secrets.token_urlsafe(32),
            method=method,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=settings.session_lifetime_hours),
        )
    )
    await session.flush()
    return token


# Every page reads its session: one statement compiled once, on the session's own
# connection (inside the request's transaction), without the ORM's per-row bookkeeping.
_LOOKUP = driver_statement(
    select(
        WebSession.claims,
        WebSession.csrf_token,
        WebSession.last_seen_at,
        WebSession.expires_at,
        WebSession.revoked_at,
    ).where(WebSession.token_hash == bindparam("token_hash"))
)
_TOUCH = driver_statement(
    update(WebSession)
    .where(WebSession.token_hash == bindparam("token_hash"))
    .values(last_seen_at=bindparam("now"))
)


async def resume(
    session: AsyncSession, token: str | None, *, settings: WebSettings, now: datetime | None = None
) -> SignedIn:
    """The live session of this cookie token, touched; NotAuthenticated if none."""
    if not token:
        raise NotAuthenticated("Sign in to continue.")
    now = now or datetime.now(UTC)
    key = token_hash(token)
    conn = await driver_connection(session)
    row = await conn.fetchrow(_LOOKUP.sql, *_LOOKUP.args({"token_hash": key}))
    idle = timedelta(minutes=settings.session_idle_minutes)
    if (
        row is None
        or row["revoked_at"] is not None
        or row["expires_at"] <= now
        or row["last_seen_at"] + idle <= now
    ):
        raise NotAuthenticated("Your session has ended; sign in again.")
    if (now - row["last_seen_at"]).total_seconds() >= settings.session_touch_seconds:
        await conn.execute(_TOUCH.sql, *_TOUCH.args({"token_hash": key, "now": now}))
    claims = row["claims"]
    principal = principal_from_claims(
        json.loads(claims) if isinstance(claims, str) else claims, settings.council_id
    )
    return SignedIn(principal=principal, csrf_token=row["csrf_token"], token_hash=key)


async def revoke(session: AsyncSession, token_hash_: str, *, now: datetime | None = None) -> None:
    await session.execute(
        update(WebSession)
        .where(WebSession.token_hash == token_hash_, WebSession.revoked_at.is_(None))
        .values(revoked_at=now or datetime.now(UTC))
    )


async def revoke_all_for(session: AsyncSession, sub: str) -> int:
    """End every session of one person (a leaver, a lost laptop); returns how many."""
    result = await session.execute(
        update(WebSession)
        .where(WebSession.claims["sub"].astext == sub, WebSession.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
        .returning(WebSession.token_hash)
    )
    return len(result.all())


async def purge_ended(session: AsyncSession, *, now: datetime | None = None) -> None:
    """Delete the rows of sessions that can no longer be used."""
    now = now or datetime.now(UTC)
    await session.execute(delete(WebSession).where(WebSession.expires_at <= now))
