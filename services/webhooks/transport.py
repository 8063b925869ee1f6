"""One signed webhook attempt over HTTP, measured and classified. No database access.

The URL is checked against the SSRF rules on every attempt and the request goes to the
address that was checked; redirects are never followed; the whole attempt is bounded by the
timeout (15 s by default); only a 2xx counts, 410 means "gone", 429/503 carry `Retry-After`.
Only the first 500 bytes of a reply are kept as evidence.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import httpx

from services.webhooks.schedule import parse_retry_after
from services.webhooks.signing import webhook_headers
from services.webhooks.ssrf import IpAddress, IpNetwork, UnsafeUrl, check_url

Outcome = Literal["delivered", "failed", "refused", "gone"]
EXCERPT_BYTES = 500
# Standard Webhooks: success is a 2xx within 15 seconds.
DEFAULT_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class AttemptResult:
    outcome: Outcome
    attempted_at: datetime
    latency_ms: int
    status_code: int | None = None
    error: str | None = None
    response_excerpt: str | None = None
    retry_after: float | None = None


def make_client(timeout: float = DEFAULT_TIMEOUT_SECONDS) -> httpx.AsyncClient:
    """A client that never follows redirects and ignores proxy variables."""
    return httpx.AsyncClient(
        follow_redirects=False,
        trust_env=False,
        timeout=timeout,
        headers={"user-agent": "frontdoor-webhooks/1.0"},
    )


def pinned(url: str, address: IpAddress) -> tuple[httpx.URL, dict[str, str], dict[str, str]]:
    """The URL aimed at the checked address, with the Host header and TLS name of the original."""
    original = httpx.URL(url)
    target = original.copy_with(host=str(address))
    extensions = {"sni_hostname": original.host} if original.scheme == "https" else {}
    return target, {"host": original.netloc.decode("ascii")}, extensions


async def _excerpt(response: httpx.Response) -> str:
    kept = b""
    async for chunk in response.aiter_bytes():
        kept += chunk
        if len(kept) >= EXCERPT_BYTES:
            break
    return kept[:EXCERPT_BYTES].decode("utf-8", errors="replace")


async def _post(
    client: httpx.AsyncClient, url: str, address: IpAddress, body: bytes, headers: dict[str, str]
) -> tuple[int, str, str | None]:
    target, host, extensions = pinned(url, address)
    request = client.build_request(
        "POST", target, content=body, headers={**headers, **host}, extensions=extensions
    )
    async with contextlib.aclosing(await client.send(request, stream=True)) as response:
        return response.status_code, await _excerpt(response), response.headers.get("retry-after")


def _classify(status: int) -> Outcome:
    if 200 <= status < 300:
        return "delivered"
    return "gone" if status == 410 else "failed"


async def post_webhook(
    client: httpx.AsyncClient,
    *,
    url: str,
    secrets: Sequence[str],
    message_id: str,
    body: str,
    require_https: bool,
    allowed: Iterable[IpNetwork],
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> AttemptResult:
    """One attempt: SSRF check, sign, POST to the checked address, classify."""
    now = datetime.now(UTC)
    started = time.perf_counter()
    try:
        addresses = await check_url(url, require_https=require_https, allowed=allowed)
    except UnsafeUrl as exc:
        return AttemptResult("refused", now, 0, error=f"unsafe url: {exc}"[:200])
    payload = body.encode()
    headers = webhook_headers(list(secrets), message_id, int(time.time()), payload)
    try:
        status, excerpt, retry_after = await asyncio.wait_for(
            _post(client, url, addresses[0], payload, headers), timeout
        )
    except (TimeoutError, httpx.TimeoutException):
        return AttemptResult("failed", now, _ms(started), error="timeout")
    except httpx.HTTPError as exc:
        return AttemptResult("failed", now, _ms(started), error=type(exc).__name__)
    wait = parse_retry_after(retry_after, now) if status in (429, 503) else None
    return AttemptResult(
        _classify(status),
        now,
        _ms(started),
        status_code=status,
        response_excerpt=excerpt,
        retry_after=wait,
        error=None if 200 <= status < 300 else f"HTTP {status}",
    )


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
