"""The one retry policy type: how long to wait after a failed attempt. Pure.

Both the event consumer (`services.events.consumer`) and the webhook schedules
(`services.webhooks.schedule`, used by notifications' deliveries and triage's handovers) use
it, with one indexing: `steps[n]` is the wait after `n` attempts, so `steps[0]` is the wait
before the first attempt (0: at once) and `steps[1]` the wait after the first failure. Past
the table every wait is `repeat`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class RetryPolicy:
    steps: tuple[float, ...] = (0, 5, 60, 300, 900)
    repeat: float = 1800
    # +/- this fraction of each wait, so a recovering receiver is not hit all at once.
    jitter: float = 0.1
    # A receiver's Retry-After is honoured up to this many seconds.
    max_retry_after: float = 3600

    def base_delay(self, attempts_made: int) -> float:
        """Seconds to wait after `attempts_made` attempts (>= 1) before the next one."""
        return self.steps[attempts_made] if attempts_made < len(self.steps) else self.repeat

    def delay(self, attempts_made: int) -> timedelta:
        """`base_delay` as a timedelta (no jitter)."""
        return timedelta(seconds=self.base_delay(attempts_made))
