"""Rate limits, in process: writes per caller, failed authentications per client address.

A sliding window of one minute, approximated GCRA-style by two fixed windows (the current
count plus the previous one weighted by how much of it still overlaps): smooth enough that a
burst at a window's edge cannot double the limit, and O(1) memory per key. Each process keeps
its own counts (an API run with N workers admits up to N times the limit); the limits are a
brake on a runaway partner system or a token-guessing loop, not an accounting system.

Why these keys: a write is counted against the verified caller (council and `sub`), so one
partner system cannot crowd out another; a failed authentication has no verified caller, so
it is counted against the client address (the proxy's `X-Forwarded-For` when uvicorn trusts
it), and an address over its limit is refused everything until its window passes.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from services.errors import TooManyRequests
from services.settings import FrontdoorSettings

WINDOW_SECONDS = 60.0
# Keys kept before expired ones are pruned (a scan of ~10k entries, at most once a window).
_PRUNE_AT = 10_000


@dataclass
class _Counts:
    window: int
    current: int = 0
    previous: int = 0


@dataclass
class SlidingWindow:
    """Hits per key over the last minute; `retry_after` says when one more would be allowed."""

    limit: int
    window: float = WINDOW_SECONDS
    counts: dict[str, _Counts] = field(default_factory=dict)

    def _roll(self, key: str, now: float) -> tuple[_Counts, float]:
        index = int(now // self.window)
        counts = self.counts.get(key)
        if counts is None:
            if len(self.counts) >= _PRUNE_AT:
                self._prune(index)
            counts = self.counts[key] = _Counts(index)
        elif counts.window != index:
            counts.previous = counts.current if counts.window == index - 1 else 0
            counts.current, counts.window = 0, index
        elapsed = (now % self.window) / self.window
        return counts, counts.previous * (1.0 - elapsed) + counts.current

    def _prune(self, index: int) -> None:
        for key in [k for k, c in self.counts.items() if c.window < index - 1]:
            del self.counts[key]

    def retry_after(self, key: str, now: float | None = None) -> int | None:
        """Seconds to wait before one more hit is admitted, or None when it is admitted now."""
        now = time.time() if now is None else now
        counts, used = self._roll(key, now)
        if used + 1 <= self.limit:
            return None
        # The previous window's weight falls linearly over this one: find when `used` has
        # fallen enough; if this window alone is full, that happens in the next one.
        into = now % self.window
        if counts.current + 1 > self.limit:
            fraction = 1.0 - (self.limit - 1) / counts.current if self.limit > 1 else 1.0
            wait = self.window - into + fraction * self.window
        else:
            fraction = 1.0 - (self.limit - counts.current - 1) / counts.previous
            wait = fraction * self.window - into
        return max(1, math.ceil(wait))

    def hit(self, key: str, now: float | None = None) -> None:
        counts, _ = self._roll(key, time.time() if now is None else now)
        counts.current += 1

    def admit(self, key: str, now: float | None = None) -> int | None:
        """Count a hit if it is admitted; otherwise the seconds to wait (nothing counted)."""
        now = time.time() if now is None else now
        wait = self.retry_after(key, now)
        if wait is None:
            self.hit(key, now)
        return wait


class Limits:
    """The process's limiters, rebuilt when the configured limits change."""

    def __init__(self) -> None:
        self._writes: SlidingWindow | None = None
        self._failures: SlidingWindow | None = None

    def writes(self, settings: FrontdoorSettings) -> SlidingWindow:
        if self._writes is None or self._writes.limit != settings.rate_limit_writes_per_minute:
            self._writes = SlidingWindow(settings.rate_limit_writes_per_minute)
        return self._writes

    def failures(self, settings: FrontdoorSettings) -> SlidingWindow:
        limit = settings.rate_limit_auth_failures_per_minute
        if self._failures is None or self._failures.limit != limit:
            self._failures = SlidingWindow(limit)
        return self._failures

    def clear(self) -> None:
        self._writes = self._failures = None


limits = Limits()
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def check_write(settings: FrontdoorSettings, council_id: str, sub: str) -> None:
    """Count a write by this caller, or refuse it (429 with Retry-After)."""
    if not settings.rate_limit_enabled:
        return
    wait = limits.writes(settings).admit(f"{council_id}\x1f{sub}")
    if wait is not None:
        raise TooManyRequests(
            f"More than {settings.rate_limit_writes_per_minute} writes a minute.",
            retry_after=wait,
        )


def failed_auth_wait(settings: FrontdoorSettings, client: str) -> int | None:
    """Seconds this client address must wait (too many failed authentications), or None."""
    if not settings.rate_limit_enabled:
        return None
    return limits.failures(settings).retry_after(client)


def record_failed_auth(settings: FrontdoorSettings, client: str) -> None:
    if settings.rate_limit_enabled:
        limits.failures(settings).hit(client)
