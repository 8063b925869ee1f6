"""Settings: one base class, subclassed per service with its own environment prefix.

Platform-wide settings (database, environment, auth) are read without a prefix so that one
environment configures every process; each service's own settings carry its prefix
(`REFERRAL_`, `TRIAGE_`, `NOTIFICATIONS_`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# The development signing secret: fine on a laptop, refused in production.
DEV_JWT_SECRET = "frontdoor-development-secret-not-for-production-use"
PLACEHOLDER_SECRETS = frozenset({DEV_JWT_SECRET, "", "changeme", "secret", "change-me"})
# RFC 7518 §3.2: an HS256 key must be at least as long as the hash output (32 bytes).
MIN_SECRET_LENGTH = 32

# The only algorithms a token may use. "none" and every other algorithm are refused.
SYMMETRIC_ALGORITHMS = frozenset({"HS256"})
ASYMMETRIC_ALGORITHMS = frozenset({"RS256", "ES256"})
SUPPORTED_ALGORITHMS = SYMMETRIC_ALGORITHMS | ASYMMETRIC_ALGORITHMS

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
    db_pool_size: int = Field(10, ge=1, le=200, validation_alias="DB_POOL_SIZE")
    # Least privilege: DATABASE_URL is the schema owner's (migrations, `frontdoor audit
    # verify`); the services connect as this role, which may only INSERT and SELECT on the
    # audit log. The migration creates it when missing (LOGIN, with DATABASE_APP_PASSWORD when
    # set) and grants it what it needs. APP_DATABASE_URL names the app's connection outright;
    # unset, it is DATABASE_URL with this role as user. Empty: the app uses DATABASE_URL as is.
    database_app_role: str = Field(
        "frontdoor_app", pattern=r"^([a-z_][a-z0-9_]{0,62})?$", validation_alias="DATABASE_APP_ROLE"
    )
    database_app_password: str | None = Field(None, validation_alias="DATABASE_APP_PASSWORD")
    app_database_url: str | None = Field(None, validation_alias="APP_DATABASE_URL")
    log_level: str = Field("INFO", validation_alias="LOG_LEVEL")
    log_json: bool | None = Field(None, validation_alias="LOG_JSON")
    council_id: str = Field("demo", validation_alias="COUNCIL_ID")
    timezone: str = Field("Europe/London", validation_alias="COUNCIL_TIMEZONE")
    public_base_url: str = Field("http://127.0.0.1:8000", validation_alias="PUBLIC_BASE_URL")
    # Bearer token Prometheus sends for /metrics. Production serves no metrics without one.
    metrics_token: str | None = Field(None, validation_alias="METRICS_TOKEN")
    # Fully handled outbox events are deleted after this many days (0 keeps them for ever).
    outbox_retention_days: int = Field(90, ge=0, validation_alias="OUTBOX_RETENTION_DAYS")
    # A handled event's payload (a whole MARF for `referral.received`) is emptied after this
    # many days; every consumer has its own copy by then (0 keeps payloads as long as events).
    outbox_payload_retention_days: int = Field(
        7, ge=0, validation_alias="OUTBOX_PAYLOAD_RETENTION_DAYS"
    )

    # Auth: HS256 with a local key in development; RS256/ES256 from the identity provider's JWKS.
    jwt_secret: str = Field(DEV_JWT_SECRET, validation_alias="JWT_SECRET")
    # Comma-separated. Empty: HS256 with JWT_SECRET, or RS256 when JWT_JWKS_URL is set.
    jwt_algorithms: Annotated[tuple[str, ...], NoDecode] = Field(
        (), validation_alias="JWT_ALGORITHMS"
    )
    jwt_jwks_url: str | None = Field(None, validation_alias="JWT_JWKS_URL")
    jwt_issuer: str = Field("frontdoor-dev", validation_alias="JWT_ISSUER")
    jwt_audience: str = Field("frontdoor", validation_alias="JWT_AUDIENCE")
    jwks_cache_seconds: int = Field(600, ge=0, validation_alias="JWKS_CACHE_SECONDS")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r} (an IANA name, e.g. Europe/London)"
            ) from exc
        return value

    @field_validator("metrics_token")
    @classmethod
    def _empty_token_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("LOG_LEVEL is one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return value.upper()

    @field_validator("jwt_algorithms", mode="before")
    @classmethod
    def _split_algorithms(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(a.strip() for a in value.split(",") if a.strip())
        return value

    @field_validator("jwt_algorithms")
    @classmethod
    def _only_supported_algorithms(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - SUPPORTED_ALGORITHMS)
        if unknown:
            raise ValueError(f"unsupported JWT algorithms {unknown}; use HS256, RS256 or ES256")
        return value

    @model_validator(mode="after")
    def _consistent_key_source(self) -> FrontdoorSettings:
        # One key source per deployment: mixing a shared secret with public keys is exactly
        # what an algorithm-confusion attack needs.
        wanted = set(self.verification_algorithms)
        if self.jwt_jwks_url and wanted & SYMMETRIC_ALGORITHMS:
            raise ValueError("JWT_JWKS_URL takes RS256/ES256 only; HS256 uses JWT_SECRET")
        if not self.jwt_jwks_url and wanted & ASYMMETRIC_ALGORITHMS:
            raise ValueError("RS256/ES256 need JWT_JWKS_URL (the identity provider's keys)")
        return self

    @model_validator(mode="after")
    def _refuse_development_secrets_in_production(self) -> FrontdoorSettings:
        if self.environment != "production":
            return self
        if not self.jwt_jwks_url and (
            self.jwt_secret in PLACEHOLDER_SECRETS or len(self.jwt_secret) < MIN_SECRET_LENGTH
        ):
            raise ValueError(
                "JWT_SECRET is a development placeholder or too short; set JWT_JWKS_URL "
                f"(preferred) or a random secret of at least {MIN_SECRET_LENGTH} characters"
            )
        if self.database_url is None and self.app_database_url is None:
            raise ValueError(
                "DATABASE_URL is required in production (no embedded database; "
                "APP_DATABASE_URL alone serves an API or a worker)"
            )
        return self

    @property
    def verification_algorithms(self) -> tuple[str, ...]:
        """The algorithm allow-list tokens are checked against."""
        if self.jwt_algorithms:
            return self.jwt_algorithms
        return ("RS256",) if self.jwt_jwks_url else ("HS256",)

    @property
    def is_production(self) -> bool:
        return self.environment == "production"


@lru_cache
def get_settings() -> FrontdoorSettings:
    return FrontdoorSettings()
