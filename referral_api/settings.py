"""Settings of the referral service (environment prefix `REFERRAL_`)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.settings import FrontdoorSettings


class ReferralSettings(FrontdoorSettings):
    model_config = SettingsConfigDict(
        env_prefix="REFERRAL_", extra="ignore", frozen=True, populate_by_name=True
    )

    # Idempotency keys must outlive a partner system's retries for at least a day (issue 4);
    # two days covers a retry queue that stalls over a night.
    idempotency_retention_hours: int = Field(48, ge=24)
    # How often the worker purges expired keys, and the most rows one purge deletes.
    idempotency_purge_seconds: float = Field(3600.0, gt=0)
    idempotency_purge_batch: int = Field(5000, ge=1)
    # List pages: the default size and the cap (bounded reads of children's records).
    page_size_default: int = Field(25, ge=1)
    page_size_max: int = Field(100, ge=1)
    # A phone referral must be followed up in writing within this many hours (Bradford).
    written_follow_up_hours: int = Field(24, ge=1)
    # A council's working calendar (closure days, zone) is re-read at most this often per
    # process: it changes a few times a year, and intake should not query it every time.
    calendar_cache_seconds: float = Field(60.0, ge=0)
    # A follow-up's call_at may be at most this many hours old (the receipt, and so every
    # clock, starts at the call): a week covers a follow-up sent late over a weekend and a
    # bank holiday; older is a new referral, not a back-dated one.
    follow_up_call_max_age_hours: int = Field(168, ge=24)
    # The front-door decision is due this many working days after receipt (Working Together).
    decision_working_days: int = Field(1, ge=1)


@lru_cache
def get_referral_settings() -> ReferralSettings:
    return ReferralSettings()
