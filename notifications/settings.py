"""The notifications service's settings (`NOTIFICATIONS_` prefix) on top of the platform's."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from functools import lru_cache

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from services.settings import MIN_SECRET_LENGTH, FrontdoorSettings, is_placeholder

# Development key for webhook secrets at rest: fine on a laptop, refused in production.
DEV_SECRET_KEY = "frontdoor-development-webhook-secret-key"

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class NotificationsSettings(FrontdoorSettings):
    """Operation Encompass delivery: mail, contacts, schedule, fallback, escalation, SSRF."""

    model_config = SettingsConfigDict(
        env_prefix="NOTIFICATIONS_", extra="ignore", frozen=True, populate_by_name=True
    )

    # The mail server every alert, fallback and escalation email goes through, its login and
    # STARTTLS (`frontdoor run` points host and port at its demo sink unless they are set).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    # Sender of every email; its domain is their Message-IDs' right-hand side.
    mail_from: str = "Front Door <encompass@frontdoor.example>"
    # The council's elective home education contact (EHE and no-school notifications).
    ehe_contact_email: str = "ehe.officer@council.example"
    # Escalations go here (through the mail server above, then the escalation relay below).
    duty_manager_email: str = "duty.manager@council.example"
    # A second mail server for escalations only, tried when the one above fails: without it,
    # an outage of the alerts' mail server would keep the duty manager's escalation from
    # being sent (unset: no second server).
    escalation_smtp_host: str | None = None
    # The escalation relay's port.
    escalation_smtp_port: int = 25
    # The escalation relay's login (both or neither) and whether it uses STARTTLS.
    escalation_smtp_username: str | None = None
    escalation_smtp_password: str | None = None
    escalation_smtp_starttls: bool = False
    # Disabled-endpoint alerts go here.
    admin_email: str = "frontdoor.admin@council.example"
    # Seconds after the first try at which a failed webhook is tried again (Encompass schedule).
    retry_schedule: tuple[float, ...] = (0, 5, 60, 300, 900)
    # After the schedule's last step, the seconds between further tries.
    retry_repeat_seconds: float = 1800
    # Each wait is spread by up to this fraction, so retries to one school do not bunch.
    retry_jitter: float = 0.1
    # Keep retrying a webhook this long after the deadline (email has long been sent).
    give_up_after_deadline_seconds: float = 6 * 3600
    # Email fallback if no webhook is acknowledged (2xx) by this long before the deadline.
    fallback_lead_seconds: float = 3600
    # Escalate to the duty manager if the DSL has not acknowledged this long before school start.
    escalation_lead_seconds: float = 900
    # Failures without a success for this long (and at least `failure_disable_min`) disable it.
    failure_disable_window_seconds: float = 24 * 3600
    failure_disable_min_failures: int = 5
    attempt_timeout_seconds: float = 15.0
    # Honour Retry-After up to this long (a receiver must not park an alert past school start).
    max_retry_after_seconds: float = 3600
    # CIDRs that may be delivered to although private/loopback (development and tests only).
    ssrf_allow_list: tuple[str, ...] = ()
    secret_key: str = DEV_SECRET_KEY
    # Front-door alerts (breaches, due soon, overdue written follow-ups) are gathered into one
    # email per recipient per window: a burst of 227 breaches is one email, not 227. An alert
    # waits at least `gather` seconds so the rest of its burst joins it; a recipient gets at
    # most one email per window of `window` seconds.
    front_door_alert_gather_seconds: float = 60
    front_door_alert_window_seconds: float = 900
    # Due deliveries one claim takes at most (never more than there is room to start).
    delivery_batch_size: int = 200
    # Webhook and email sends in flight at once per worker, in all. Endpoints that have failed
    # since their last success share at most half of it with every endpoint's sends beyond its
    # first: the other half always serves healthy schools, however many receivers hang.
    delivery_concurrency: int = 64
    # Sends in flight at once to one school's webhook endpoint (1 while it is failing): a hung
    # receiver ties up its own few slots, never the worker.
    delivery_per_endpoint_concurrency: int = 4
    # Emails handed to the mail server at once (NOTIFICATIONS_SMTP_HOST), each on its own
    # connection: a slow or failing mail server holds these slots, never the webhooks'.
    smtp_concurrency: int = 8
    # A finished delivery's body and the receiver's replies are emptied after this many days
    # (`frontdoor purge`); the attempts' times, statuses and latencies are kept as evidence.
    delivery_body_retention_days: int = Field(30, ge=1)
    # Deliveries `frontdoor purge` empties per transaction.
    purge_batch: int = Field(5000, ge=1)

    @model_validator(mode="after")
    def _refuse_development_key_in_production(self) -> NotificationsSettings:
        if self.is_production and (
            self.secret_key == DEV_SECRET_KEY
            or is_placeholder(self.secret_key)
            or len(self.secret_key) < MIN_SECRET_LENGTH
        ):
            raise ValueError(
                "NOTIFICATIONS_SECRET_KEY is a placeholder or too short; set a random key of "
                f"at least {MIN_SECRET_LENGTH} characters (openssl rand -base64 32)"
            )
        if (
            self.is_production
            and self.smtp_password is not None
            and (is_placeholder(self.smtp_password))
        ):
            raise ValueError("NOTIFICATIONS_SMTP_PASSWORD is a placeholder")
        relay_password = self.escalation_smtp_password
        if self.is_production and relay_password is not None and is_placeholder(relay_password):
            raise ValueError("NOTIFICATIONS_ESCALATION_SMTP_PASSWORD is a placeholder")
        if not self.retry_schedule:
            raise ValueError("NOTIFICATIONS_RETRY_SCHEDULE needs at least one step")
        return self

    @property
    def allowed_networks(self) -> tuple[IpNetwork, ...]:
        """The allow-list; loopback is added automatically outside production."""
        nets = [ipaddress.ip_network(c, strict=False) for c in self.ssrf_allow_list]
        if not self.is_production:
            nets += [ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")]
        return tuple(nets)

    @property
    def encryption_key(self) -> bytes:
        """32 bytes for AES-256-GCM: the setting if it is base64 of 32 bytes, else its SHA-256."""
        try:
            raw = base64.b64decode(self.secret_key, validate=True)
        except ValueError:
            raw = b""
        return raw if len(raw) == 32 else hashlib.sha256(self.secret_key.encode()).digest()

    def link(self, path: str) -> str:
        return self.public_base_url.rstrip("/") + path


@lru_cache
def get_notifications_settings() -> NotificationsSettings:
    return NotificationsSettings()
