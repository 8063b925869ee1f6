"""Settings: bare platform names, per-service prefixes, production refusals."""

from __future__ import annotations

import pytest
from pydantic import Field, ValidationError
from pydantic_settings import SettingsConfigDict

from services.settings import DEV_JWT_SECRET, FrontdoorSettings

REAL_SECRET = "k3y-" + "x" * 40
PLATFORM_VARIABLES = (
    "ENVIRONMENT",
    "DATABASE_URL",
    "JWT_SECRET",
    "JWT_ALGORITHMS",
    "JWT_JWKS_URL",
    "LOG_JSON",
    "COUNCIL_ID",
    "COUNCIL_TIMEZONE",
    "LOG_LEVEL",
)


class ExampleServiceSettings(FrontdoorSettings):
    model_config = SettingsConfigDict(
        env_prefix="TRIAGE_", extra="ignore", frozen=True, populate_by_name=True
    )

    due_soon_minutes: int = Field(60)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PLATFORM_VARIABLES:
        monkeypatch.delenv(name, raising=False)


class TestPrefixes:
    def test_platform_settings_read_bare_names(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("DATABASE_URL", "postgresql://db/frontdoor")
        monkeypatch.setenv("COUNCIL_ID", "bradford")
        settings = FrontdoorSettings()
        assert (settings.database_url, settings.council_id) == (
            "postgresql://db/frontdoor",
            "bradford",
        )

    def test_a_service_subclass_reads_its_own_settings_with_its_prefix(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TRIAGE_DUE_SOON_MINUTES", "15")
        monkeypatch.setenv("DUE_SOON_MINUTES", "99")  # unprefixed: not the service's
        monkeypatch.setenv("COUNCIL_ID", "leeds")
        settings = ExampleServiceSettings()
        assert settings.due_soon_minutes == 15
        assert settings.council_id == "leeds"  # platform names stay bare in subclasses

    def test_the_bare_platform_name_wins_over_a_prefixed_one(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TRIAGE_COUNCIL_ID", "elsewhere")
        monkeypatch.setenv("COUNCIL_ID", "bradford")
        assert ExampleServiceSettings().council_id == "bradford"

    def test_defaults_describe_a_laptop(self) -> None:
        settings = FrontdoorSettings()
        assert settings.environment == "development"
        assert settings.database_url is None  # the embedded PostgreSQL
        assert settings.verification_algorithms == ("HS256",)


class TestValues:
    def test_an_unknown_time_zone_is_refused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("COUNCIL_TIMEZONE", "Europe/Bradford")
        with pytest.raises(ValidationError, match="unknown time zone"):
            FrontdoorSettings()

    def test_an_unknown_log_level_is_refused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("LOG_LEVEL", "chatty")
        with pytest.raises(ValidationError, match="LOG_LEVEL"):
            FrontdoorSettings()

    def test_log_levels_are_case_insensitive(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("LOG_LEVEL", "warning")
        assert FrontdoorSettings().log_level == "WARNING"


class TestAlgorithms:
    def test_algorithms_are_read_comma_separated(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("JWT_JWKS_URL", "https://idp.example/jwks")
        monkeypatch.setenv("JWT_ALGORITHMS", "RS256, ES256")
        assert FrontdoorSettings().verification_algorithms == ("RS256", "ES256")

    def test_a_jwks_url_alone_means_rs256(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("JWT_JWKS_URL", "https://idp.example/jwks")
        assert FrontdoorSettings().verification_algorithms == ("RS256",)

    @pytest.mark.parametrize("algorithm", ["none", "HS384", "HS512", "PS256", "RS512"])
    def test_unlisted_algorithms_are_refused(
        self, monkeypatch: pytest.MonkeyPatch, algorithm: str
    ) -> None:
        monkeypatch.setenv("JWT_ALGORITHMS", algorithm)
        with pytest.raises(ValidationError, match="unsupported JWT algorithms"):
            FrontdoorSettings()

    def test_a_shared_secret_is_never_mixed_with_public_keys(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("JWT_JWKS_URL", "https://idp.example/jwks")
        monkeypatch.setenv("JWT_ALGORITHMS", "RS256,HS256")
        with pytest.raises(ValidationError, match="RS256/ES256 only"):
            FrontdoorSettings()

    def test_asymmetric_algorithms_need_a_jwks_url(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("JWT_ALGORITHMS", "RS256")
        with pytest.raises(ValidationError, match="need JWT_JWKS_URL"):
            FrontdoorSettings()


class TestProduction:
    def production(self, monkeypatch: pytest.MonkeyPatch, **env: str) -> FrontdoorSettings:
        monkeypatch.setenv("ENVIRONMENT", "production")
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return FrontdoorSettings()

    @pytest.mark.parametrize("secret", [DEV_JWT_SECRET, "changeme", "secret", "short-but-real"])
    def test_development_or_weak_secrets_are_refused(
        self, monkeypatch: pytest.MonkeyPatch, secret: str
    ) -> None:
        with pytest.raises(ValidationError, match="JWT_SECRET"):
            self.production(monkeypatch, DATABASE_URL="postgresql://db/x", JWT_SECRET=secret)

    def test_the_default_secret_is_refused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        with pytest.raises(ValidationError, match="development placeholder"):
            self.production(monkeypatch, DATABASE_URL="postgresql://db/x")

    def test_a_database_url_is_required(self, monkeypatch: pytest.MonkeyPatch) -> None:
        with pytest.raises(ValidationError, match="DATABASE_URL is required"):
            self.production(monkeypatch, JWT_SECRET=REAL_SECRET)

    def test_a_jwks_url_with_a_database_is_accepted(self, monkeypatch: pytest.MonkeyPatch) -> None:
        settings = self.production(
            monkeypatch, DATABASE_URL="postgresql://db/x", JWT_JWKS_URL="https://idp/jwks"
        )
        assert settings.is_production
        assert settings.verification_algorithms == ("RS256",)

    def test_a_real_secret_with_a_database_is_accepted(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        settings = self.production(
            monkeypatch, DATABASE_URL="postgresql://db/x", JWT_SECRET=REAL_SECRET
        )
        assert settings.verification_algorithms == ("HS256",)

    def test_development_accepts_the_development_secret(self) -> None:
        assert FrontdoorSettings().jwt_secret == DEV_JWT_SECRET

    def test_settings_are_immutable(self) -> None:
        settings = FrontdoorSettings()
        with pytest.raises(ValidationError):
            settings.council_id = "other"  # type: ignore[misc]
