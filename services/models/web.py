"""Platform tables of the web console: signed-in sessions and OpenID Connect sign-ins under way.

Ownership: written by `services.web` only. A session row is the whole server-side state of a
browser's sign-in; the cookie carries a random token whose SHA-256 is the row's key, so the
table holds nothing a thief could replay. Revoking a row ends that browser's session at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.models.base import Base, created_at


class WebSession(Base):
    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The principal's claims (sub, role, agency_id / school_urn, council_id), as a token's.
    claims: Mapped[dict[str, Any]] = mapped_column(JSONB)
    csrf_token: Mapped[str] = mapped_column(String(64))
    # "dev" (the development sign-in page) or "oidc" (the council's identity provider).
    method: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = created_at()
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]  # the absolute lifetime's end
    revoked_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_web_sessions_expires_at", "expires_at"),)


class WebSignIn(Base):
    """An authorization-code sign-in started and not yet finished (state, PKCE verifier)."""

    __tablename__ = "web_sign_ins"

    state: Mapped[str] = mapped_column(String(64), primary_key=True)
    code_verifier: Mapped[str] = mapped_column(String(128))
    nonce: Mapped[str] = mapped_column(String(64))
    next_path: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = created_at()
