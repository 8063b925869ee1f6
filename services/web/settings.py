"""Settings of the web console (environment prefix `WEB_`) on top of the platform's."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from services.settings import FrontdoorSettings


class WebSettings(FrontdoorSettings):
    """Sessions and the council's OpenID Connect identity provider."""

    model_config = SettingsConfigDict(
        env_prefix="WEB_", extra="ignore", frozen=True, populate_by_name=True
    )

    # A session unused for this long ends (NCSC guidance: short idle timeouts for sensitive
    # data); one ends this long after sign-in whatever its use (a working day and a bit).
    session_idle_minutes: int = Field(30, ge=1)
    session_lifetime_hours: float = Field(10.0, gt=0)
    # last_seen_at is written at most this often per session, not on every page.
    session_touch_seconds: int = Field(60, ge=0)
    cookie_name: str = "frontdoor_session"
    # OpenID Connect (authorization code + PKCE). Set the issuer to turn it on.
    oidc_issuer: str | None = None
    oidc_discovery_url: str | None = None  # default: {issuer}/.well-known/openid-configuration
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_scopes: str = "openid profile"
    # A sign-in started and not finished within this is refused.
    oidc_sign_in_seconds: int = Field(600, ge=30)

    @model_validator(mode="after")
    def _oidc_complete(self) -> WebSettings:
        if self.oidc_issuer and not self.oidc_client_id:
            raise ValueError("WEB_OIDC_ISSUER needs WEB_OIDC_CLIENT_ID")
        return self

    @property
    def dev_sign_in(self) -> bool:
        """The demo identities' sign-in page: never in production."""
        return not self.is_production

    @property
    def cookie_secure(self) -> bool:
        return self.is_production

    def link(self, path: str) -> str:
        return self.public_base_url.rstrip("/") + path

    @property
    def discovery_url(self) -> str | None:
        if self.oidc_discovery_url:
            return self.oidc_discovery_url
        if self.oidc_issuer:
            return self.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration"
        return None


@lru_cache
def get_web_settings() -> WebSettings:
    return WebSettings()
