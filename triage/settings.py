"""Settings of the triage service (environment prefix `TRIAGE_`)."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import SettingsConfigDict

from services.settings import FrontdoorSettings


class TriageSettings(FrontdoorSettings):
    model_config = SettingsConfigDict(
        env_prefix="TRIAGE_", extra="ignore", frozen=True, populate_by_name=True
    )

    # A claim is a lease: long enough to read a MARF and make calls, short enough that a
    # contact left open by someone who went home returns to the queue within the hour.
    lease_minutes: int = 45
    # Warn this long before an hour or one-working-day deadline...
    due_soon_hours: float = 2.0
    # ...and this many days before a long clock (assessment, ICPC, unallocated).
    due_soon_long_days: float = 3.0
    # Re-referral window (domain §2: a referral within 12 months of a previous one).
    re_referral_months: int = 12
    # The clock scanner's period and the most clocks it handles in one pass.
    clock_scan_seconds: float = 30.0
    clock_scan_batch: int = 500
    # A MARF joins the phone contact it quotes only if its call time is within this many
    # minutes of the call's recorded time (a worker may note the time a little late; a day
    # apart is another call). Anything further is its own contact for a worker to reconcile.
    phone_join_tolerance_minutes: int = 60
    queue_page_default: int = 50
    queue_page_max: int = 200


@lru_cache
def get_triage_settings() -> TriageSettings:
    return TriageSettings()
