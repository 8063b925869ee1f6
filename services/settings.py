"""Settings: one base class, subclassed per service with its own environment prefix.

Platform-wide settings (database, environment, auth) are read without a prefix so that one
environment configures every process; each service's own settings carry its prefix
(`REFERRAL_`, `TRIAGE_`, `NOTIFICATIONS_`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The development signing secret: fine on a laptop, refused in production.
DEV_JWT_SECRET = "frontdoor-development-secret-not-for-production-use"
PLACEHOLDER_SECRETS = frozenset({DEV_JWT_SECRET, "", "changeme", "secret"})

Environment = Literal["development", "test", "production"]


class FrontdoorSettings(BaseSettings):
    """Settings every frontdoor process reads."""

    # Platform settings name their variable explicitly (no prefix): one environment for all.
    model_config = SettingsConfigDict(
        env_prefix="FRONTDOOR_", extra="ignore", frozen=True, populate_by_name=True
    )

    environment: Environment = Field("development", validation_alias="ENVIRONMENT")
    database_url: str | None = Field(None, validation_alias="DATABASE_URL")
    embedded_db_dir: str = Field(".frontdoor/pgdata", validation_alias="EMBEDDED_DB_DIR")
    db_pool_size: int = Field(10, validation_alias="DB_POOL_SIZE")
    log_level: str = Field("INFO", validation_alias="LOG_LEVEL")
    log_json: bool | None = Field(None, validation_alias="LOG_JSON")
    council_id: str = Field("demo", validation_alias="COUNCIL_ID")
    timezone: str = Field("Europe/London", validation_alias="COUNCIL_TIMEZONE")
    public_base_url: str = Field("http://127.0.0.1:8000", validation_alias="PUBLIC_BASE_URL")

    # Auth: HS256 with a local key in development; RS256/ES256 from the identity provider's JWKS.
    jwt_secret: str = Field(DEV_JWT_SECRET, validation_alias="JWT_SECRET")
    jwt_algorithms: tuple[str, ...] = Field(("HS256",), validation_alias="JWT_ALGORITHMS")
    jwt_jwks_url: str | None = Field(None, validation_alias="JWT_JWKS_URL")
    jwt_issuer: str = Field("frontdoor-dev", validation_alias="JWT_ISSUER")
    jwt_audience: str = Field("frontdoor", validation_alias="JWT_AUDIENCE")
    jwks_cache_seconds: int = Field(600, validation_alias="JWKS_CACHE_SECONDS")

    @model_validator(mode="after")
    def _refuse_development_secrets_in_production(self) -> FrontdoorSettings:
        if self.environment != "production":
            return self
        uses_shared_secret = any(a.startswith("HS") for a in self.jwt_algorithms)
        if uses_shared_secret and self.jwt_secret in PLACEHOLDER_SECRETS:
            raise ValueError("JWT_SECRET is a development placeholder; set a real secret")
        if not uses_shared_secret and not self.jwt_jwks_url:
            raise ValueError("JWT_JWKS_URL is required for asymmetric algorithms in production")
        if self.database_url is None:
            raise ValueError("DATABASE_URL is required in production (no embedded database)")
        return self

    @property
    def is_production(self) -> bool:
        return self.environment == "production"


@lru_cache
def get_settings() -> FrontdoorSettings:
    return FrontdoorSettings()
