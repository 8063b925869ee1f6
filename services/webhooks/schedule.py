"""Retry timing fitted to a deadline: pure functions, no I/O.

The schedule is configuration (seconds between attempts: by default immediately, 5 s, 1 min,
5 min, 15 min, then every 30 min). A retry that would land after the email-fallback point or the
deadline is pulled forward onto it, so a late-night incident still gets its last webhook try
before school starts. Jitter spreads retries so a recovering receiver is not hit all at once.
The policy is the platform's one retry type (`services.retry.RetryPolicy`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from services.retry import RetryPolicy


def next_attempt_at(
    policy: RetryPolicy,
    *,
    now: datetime,
    attempts_made: int,
    fallback_at: datetime | None = None,
    deadline_at: datetime | None = None,
    give_up_at: datetime | None = None,
    retry_after: float | None = None,
    rand: Callable[[], float] = random.random,
) -> datetime | None:
    """When to try again, or None when the delivery should give up."""
    delay = policy.base_delay(attempts_made) * (1 + policy.jitter * (2 * rand() - 1))
    if retry_after is not None:
        delay = max(delay, min(retry_after, policy.max_retry_after))
    at = now + timedelta(seconds=max(delay, 0.0))
    for point in (fallback_at, deadline_at):
        if point is not None and now < point < at:
            at = point
            break
    if give_up_at is not None and at > give_up_at:
        return None
    return at


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """`Retry-After` as seconds: delta-seconds or an HTTP date; None when absent or invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)
