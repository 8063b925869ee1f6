"""One delivery attempt over HTTP or SMTP, measured and classified. No database access.

Webhooks: the URL is checked against SSRF rules first (every attempt), redirects are never
followed, the whole attempt is bounded by the configured timeout (15 s by default), only a 2xx
counts, 410 means "gone", 429/503 carry `Retry-After`. Only the first 500 bytes of a reply are
kept as evidence.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Literal

import aiosmtplib
import httpx

from notifications.settings import NotificationsSettings
from services.mailer import domain_of
from services.models.notifications import Channel, DeliveryKind
from services.webhooks.schedule import parse_retry_after
from services.webhooks.signing import webhook_headers
from services.webhooks.ssrf import IpAddress, UnsafeUrl, check_url

Outcome = Literal["delivered", "failed", "refused", "gone"]
EXCERPT_BYTES = 500


@dataclass(frozen=True)
class AttemptResult:
    outcome: Outcome
    attempted_at: datetime
    latency_ms: int
    status_code: int | None = None
    error: str | None = None
    response_excerpt: str | None = None
    # The receiver's Retry-After as seconds after `attempted_at` (its answer's delay included).
    retry_after: float | None = None


@dataclass(frozen=True)
class Claimed:
    """A leased delivery, snapshotted so the send needs no database."""

    delivery_id: uuid.UUID
    channel: Channel
    kind: DeliveryKind
    message_id: str
    body: str
    notification_id: uuid.UUID | None = None
    endpoint_id: uuid.UUID | None = None
    url: str | None = None
    secrets: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()
    subject: str | None = None
    # The attempt row written ("sending") before the request went out; the result completes it.
    attempt_id: int | None = None


def make_client(settings: NotificationsSettings) -> httpx.AsyncClient:
    """One pooled client per worker; never follows redirects, ignores proxy variables."""
    limits = httpx.Limits(max_connections=settings.delivery_concurrency)
    return httpx.AsyncClient(
        follow_redirects=False,
        trust_env=False,
        limits=limits,
        timeout=settings.attempt_timeout_seconds,
        headers={"user-agent": "frontdoor-encompass/1.0"},
    )


async def _read_excerpt(response: httpx.Response) -> str:
    kept = b""
    async for chunk in response.aiter_bytes():
        kept += chunk
        if len(kept) >= EXCERPT_BYTES:
            break
    return kept[:EXCERPT_BYTES].decode("utf-8", errors="replace")


def _classify(status: int) -> Outcome:
    if 200 <= status < 300:
        return "delivered"
    return "gone" if status == 410 else "failed"


def pinned(url: str, address: IpAddress) -> tuple[httpx.URL, dict[str, str], dict[str, str]]:
    """The URL aimed at the checked address, with the Host header and TLS name of the original."""
    original = httpx.URL(url)
    target = original.copy_with(host=str(address))
    extensions = {"sni_hostname": original.host} if original.scheme == "https" else {}
    return target, {"host": original.netloc.decode("ascii")}, extensions


async def _post(
    client: httpx.AsyncClient,
    url: str,
    address: IpAddress,
    body: bytes,
    headers: dict[str, str],
) -> tuple[int, str, float | None]:
    target, host, extensions = pinned(url, address)
    request = client.build_request(
        "POST", target, content=body, headers={**headers, **host}, extensions=extensions
    )
    async with contextlib.aclosing(await client.send(request, stream=True)) as response:
        excerpt = await _read_excerpt(response)
        retry_after = None
        if response.status_code in (429, 503):
            # Counted from the answer (RFC 9110 §10.2.3), not from when the request went out.
            answered = datetime.now(UTC)
            retry_after = parse_retry_after(response.headers.get("retry-after"), answered)
        return response.status_code, excerpt, retry_after


async def post_webhook(
    client: httpx.AsyncClient,
    settings: NotificationsSettings,
    *,
    url: str,
    secrets: list[str],
    message_id: str,
    body: str,
) -> AttemptResult:
    now = datetime.now(UTC)
    started = time.perf_counter()
    try:
        addresses = await check_url(
            url, require_https=settings.is_production, allowed=settings.allowed_networks
        )
    except UnsafeUrl as exc:
        return AttemptResult("refused", now, 0, error=f"unsafe url: {exc}"[:200])
    payload = body.encode()
    headers = webhook_headers(secrets, message_id, int(time.time()), payload)
    try:
        status, excerpt, retry_after = await asyncio.wait_for(
            _post(client, url, addresses[0], payload, headers),
            settings.attempt_timeout_seconds,
        )
    except (TimeoutError, httpx.TimeoutException):
        return AttemptResult("failed", now, _ms(started), error="timeout")
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return AttemptResult("failed", now, _ms(started), error=type(exc).__name__)
    if retry_after is not None:
        # The schedule counts from `attempted_at` (the request's start): add the time the
        # answer took, so a slow 429 is not retried before its Retry-After has passed.
        retry_after += time.perf_counter() - started
    return AttemptResult(
        _classify(status),
        now,
        _ms(started),
        status_code=status,
        response_excerpt=excerpt,
        retry_after=retry_after,
        error=None if 200 <= status < 300 else f"HTTP {status}",
    )


@dataclass(frozen=True)
class MailServer:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    starttls: bool = False


def mail_server(settings: NotificationsSettings) -> MailServer:
    """The mail server every email goes through."""
    return MailServer(
        settings.smtp_host,
        settings.smtp_port,
        settings.smtp_username,
        settings.smtp_password,
        settings.smtp_starttls,
    )


def escalation_relay(settings: NotificationsSettings) -> MailServer | None:
    """The second server escalations are tried through when the first fails (None: unset)."""
    if not settings.escalation_smtp_host:
        return None
    return MailServer(
        settings.escalation_smtp_host,
        settings.escalation_smtp_port,
        settings.escalation_smtp_username,
        settings.escalation_smtp_password,
        settings.escalation_smtp_starttls,
    )


async def send_email(
    settings: NotificationsSettings,
    *,
    recipients: list[str],
    subject: str,
    text: str,
    message_id: str,
    server: MailServer | None = None,
) -> AttemptResult:
    now = datetime.now(UTC)
    started = time.perf_counter()
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = recipients[0]
    if len(recipients) > 1:
        message["Cc"] = ", ".join(recipients[1:])
    message["Subject"] = subject
    # RFC 5322 §3.6: Date is required (filters penalise mail without it); the Message-ID's
    # right-hand side is the sender's domain, and it stays the same on every retry.
    message["Date"] = format_datetime(now)
    message["Message-ID"] = f"<{message_id}@{domain_of(settings.mail_from)}>"
    message.set_content(text)
    try:
        server = server or mail_server(settings)
        await aiosmtplib.send(
            message,
            hostname=server.host,
            port=server.port,
            username=server.username,
            password=server.password,
            start_tls=server.starttls,
            timeout=settings.attempt_timeout_seconds,
        )
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        return AttemptResult("failed", now, _ms(started), error=type(exc).__name__)
    return AttemptResult("delivered", now, _ms(started), status_code=250)


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
