"""Settings of the triage service (environment prefix `TRIAGE_`)."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Annotated, Any

from pydantic import field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

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
    queue_page_default: int = 50
    queue_page_max: int = 200

    # Handover to the council's case-management system (LCS, Mosaic): a Standard Webhooks
    # endpoint and its secret (`whsec_` + base64). With no URL, handovers wait, undelivered.
    handover_url: str | None = None
    handover_secret: str | None = None
    # CIDRs the endpoint may resolve to despite the SSRF rules (loopback is added outside
    # production, for a receiver on the same machine).
    handover_allow_list: Annotated[tuple[str, ...], NoDecode] = ()
    # Svix's general-purpose schedule (domain §7): immediately, 5 s, 5 min, 30 min, 2 h, 5 h,
    # 10 h, 10 h (about 27.6 hours), then the handover is marked failed for a person to see.
    handover_retry_schedule: Annotated[tuple[float, ...], NoDecode] = (
        0, 5, 300, 1800, 7200, 18000, 36000, 36000,
    )  # fmt: skip
    handover_timeout_seconds: float = 15.0
    handover_scan_seconds: float = 5.0

    @field_validator("handover_allow_list", "handover_retry_schedule", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        return value

    @field_validator("handover_secret")
    @classmethod
    def _webhook_secret(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("whsec_"):
            raise ValueError("TRIAGE_HANDOVER_SECRET is whsec_ followed by base64")
        return value or None

    @property
    def handover_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        nets = [ipaddress.ip_network(c, strict=False) for c in self.handover_allow_list]
        if not self.is_production:
            nets += [ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")]
        return tuple(nets)


@lru_cache
def get_triage_settings() -> TriageSettings:
    return TriageSettings()
