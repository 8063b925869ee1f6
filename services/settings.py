"""Settings: one base class, subclassed per service with its own environment prefix.

Platform-wide settings (database, environment, auth) are read without a prefix so that one
environment configures every process; each service's own settings carry its prefix
(`REFERRAL_`, `TRIAGE_`, `NOTIFICATIONS_`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# The development signing secret: fine on a laptop, refused in production.
DEV_JWT_SECRET = "frontdoor-development-secret-not-for-production-use"
PLACEHOLDER_SECRETS = frozenset({DEV_JWT_SECRET, "", "changeme", "secret", "change-me"})
# Words that mark a value as a stand-in someone meant to replace, in any case and spelling.
_PLACEHOLDER_WORDS = frozenset(
    {
        "changeme", "changethis", "replaceme", "secret", "password", "passw0rd", "placeholder",
        "example", "default", "todo", "fixme", "test", "testing", "dev", "development", "demo",
        "admin", "letmein", "qwerty", "token", "key", "xxx", "none", "null", "insecure",
    }
)  # fmt: skip
_PLACEHOLDER_FRAGMENTS = ("changeme", "replaceme", "notforproduction", "development", "insecure")
# A metrics token is a bearer secret too; 16 characters is the least a random one has.
MIN_TOKEN_LENGTH = 16


def is_placeholder(value: str) -> bool:
    """A value someone left as a stand-in: `changeme`, `secret`, `xxxx`, `dev-key`, ..."""
    folded = "".join(c for c in value.lower() if c.isalnum())
    return (
        value in PLACEHOLDER_SECRETS
        or folded in _PLACEHOLDER_WORDS
        or any(fragment in folded for fragment in _PLACEHOLDER_FRAGMENTS)
    )


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

    # `development`, `test` or `production`. Production refuses placeholder secrets and the
    # embedded database, and logs JSON.
    environment: Environment = Field("development", validation_alias="ENVIRONMENT")
    # libpq URL of the PostgreSQL server (any driver prefix). Unset: the embedded PostgreSQL.
    database_url: str | None = Field(None, validation_alias="DATABASE_URL")
    # Data directory of the embedded PostgreSQL.
    embedded_db_dir: str = Field(".frontdoor/pgdata", validation_alias="EMBEDDED_DB_DIR")
    # Connections per process in the pool (as many again in overflow). A process serving the
    # one-statement intake also keeps an asyncpg pool of up to twice this.
    db_pool_size: int = Field(10, ge=1, le=200, validation_alias="DB_POOL_SIZE")
    # Server-side limits on every app connection (0 turns one off): a request or job fails in
    # bounded time when PostgreSQL is slow, frozen or a row stays locked, instead of waiting.
    # 30 s is ~1000x the slowest statement the suite and the benchmarks run.
    db_statement_timeout_ms: int = Field(30_000, ge=0, validation_alias="DB_STATEMENT_TIMEOUT_MS")
    # Rows are locked for a few milliseconds in normal running; 10 s means something is stuck.
    db_lock_timeout_ms: int = Field(10_000, ge=0, validation_alias="DB_LOCK_TIMEOUT_MS")
    # Connecting (and waiting for a pooled connection) gives up after this; a frozen server
    # answers nothing, so the client's own clock is the only one that runs.
    db_connect_timeout_seconds: float = Field(
        5.0, gt=0, validation_alias="DB_CONNECT_TIMEOUT_SECONDS"
    )
    # Pooled connections idle this long are closed (both pools), so a process that had a busy
    # minute hands its connections back to the server for the others (0 keeps them).
    db_pool_idle_seconds: float = Field(60.0, ge=0, validation_alias="DB_POOL_IDLE_SECONDS")
    # DEBUG, INFO, WARNING, ERROR or CRITICAL.
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
    # Force JSON (true) or console (false) logs; unset: JSON in production only.
    log_json: bool | None = Field(None, validation_alias="LOG_JSON")
    # The council this deployment serves (tokens without a `council_id` claim get it).
    council_id: str = Field("demo", validation_alias="COUNCIL_ID")
    # IANA zone for deadlines and the local dates shown to people.
    timezone: str = Field("Europe/London", validation_alias="COUNCIL_TIMEZONE")
    # The externally visible base URL, for links in alerts and emails.
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
    # The identity provider's JWKS URL; production uses this (RS256/ES256).
    jwt_jwks_url: str | None = Field(None, validation_alias="JWT_JWKS_URL")
    # Required `iss` and `aud` claims.
    jwt_issuer: str = Field("frontdoor-dev", validation_alias="JWT_ISSUER")
    jwt_audience: str = Field("frontdoor", validation_alias="JWT_AUDIENCE")
    # How long fetched keys are kept before a refetch.
    jwks_cache_seconds: int = Field(600, ge=0, validation_alias="JWKS_CACHE_SECONDS")
    # Rate limits (services.ratelimit), per process. Writes per caller per minute: a partner
    # system sends a few referrals a minute at its busiest; 300 stops only a runaway loop.
    rate_limit_enabled: bool = Field(True, validation_alias="RATE_LIMIT_ENABLED")
    rate_limit_writes_per_minute: int = Field(
        300, ge=1, validation_alias="RATE_LIMIT_WRITES_PER_MINUTE"
    )
    # Failed authentications per client address per minute: a person mistyping is a handful;
    # 20 a minute keeps a guessing loop to ~29,000 a day per address.
    rate_limit_auth_failures_per_minute: int = Field(
        20, ge=1, validation_alias="RATE_LIMIT_AUTH_FAILURES_PER_MINUTE"
    )
    # Interactive docs (/docs, /redoc) and /openapi.json. Unset: served outside production only.
    api_docs: bool | None = Field(None, validation_alias="API_DOCS")
    # A token may live at most this long (`exp - iat`): a working day plus handover. A stolen
    # token is then useful for hours, not years.
    jwt_max_lifetime_seconds: int = Field(
        12 * 3600, ge=60, le=7 * 24 * 3600, validation_alias="JWT_MAX_LIFETIME_SECONDS"
    )
    # Clock skew allowed between the identity provider's clock and ours for `iat`.
    jwt_leeway_seconds: int = Field(30, ge=0, le=300, validation_alias="JWT_LEEWAY_SECONDS")

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
    def _split_algorithms(cls, value: object) -> object:
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
            is_placeholder(self.jwt_secret) or len(self.jwt_secret) < MIN_SECRET_LENGTH
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
        for name, url in (
            ("DATABASE_URL", self.database_url),
            ("APP_DATABASE_URL", self.app_database_url),
        ):
            password = urlsplit(url).password if url else None
            if password is not None and is_placeholder(password):
                raise ValueError(f"{name}'s password is a placeholder; set a random one")
        if self.database_app_password is not None and is_placeholder(self.database_app_password):
            raise ValueError("DATABASE_APP_PASSWORD is a placeholder; set a random one")
        if self.metrics_token is not None and (
            is_placeholder(self.metrics_token) or len(self.metrics_token) < MIN_TOKEN_LENGTH
        ):
            raise ValueError(
                f"METRICS_TOKEN is a placeholder or shorter than {MIN_TOKEN_LENGTH} characters"
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

    @property
    def serve_api_docs(self) -> bool:
        return self.api_docs if self.api_docs is not None else not self.is_production


@lru_cache
def get_settings() -> FrontdoorSettings:
    return FrontdoorSettings()
