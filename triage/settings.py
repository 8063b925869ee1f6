"""Settings of the triage service (environment prefix `TRIAGE_`)."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Annotated

from pydantic import field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from services.settings import FrontdoorSettings
from triage.reports.schedule import parse_time, parse_weekly


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

    # Scheduled reports (council local time). Birmingham's managers had the in-progress
    # report twice a day and the unallocated list weekly.
    report_in_progress_times: Annotated[tuple[str, ...], NoDecode] = ("09:00", "14:00")
    report_unallocated_weekly: str = "MON 09:00"
    # Managers who receive them (comma-separated), used only when the deployment serves one
    # council; with several, each council names its own (settings `report_recipients`).
    report_recipients: Annotated[tuple[str, ...], NoDecode] = ()
    # A slot missed by longer than this is not caught up (the next one is due by then).
    report_catch_up_hours: float = 5.0
    report_unallocated_catch_up_hours: float = 72.0
    # How often, in seconds, the worker looks for a due report.
    report_scan_seconds: float = 60.0
    # How many tries a refused report send gets before the slot is recorded as given up.
    report_max_attempts: int = 5
    # The mail server the scheduled reports go through, its login and STARTTLS (`frontdoor
    # run` points host and port at its demo sink unless they are set).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    # How long to wait for the SMTP server; a send with no reply in time is never retried.
    smtp_timeout_seconds: float = 15.0
    # Sender of the scheduled reports; its domain is their Message-IDs' right-hand side.
    mail_from: str = "Front Door reports <reports@frontdoor.example>"

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

    @field_validator(
        "report_in_progress_times",
        "report_recipients",
        "handover_allow_list",
        "handover_retry_schedule",
        mode="before",
    )
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        return value

    @field_validator("report_in_progress_times")
    @classmethod
    def _times(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for t in value:
            parse_time(t)
        return value

    @field_validator("report_unallocated_weekly")
    @classmethod
    def _weekly(cls, value: str) -> str:
        parse_weekly(value)
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
